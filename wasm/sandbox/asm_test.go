package sandbox_test

// A tiny WebAssembly assembler for the hostile test guests: each is a few
// instructions, written here as bytes so the tests need no toolchain.

// wasm opcodes used below.
const (
	opUnreachable = 0x00
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opCall        = 0x10
	opDrop        = 0x1a
	opLocalGet    = 0x20
	opI32Const    = 0x41
	opI32Ne       = 0x47
	opMemoryGrow  = 0x40
	blockVoid     = 0x40
	i32           = 0x7f
)

type wfunc struct {
	typ  int    // index into module.types
	body []byte // instructions, without locals and the final end
}

// wmodule is a module: imports of functions from "twig", local functions,
// one memory, exports and data segments.
type wmodule struct {
	types   [][2][]byte // params, results
	imports []struct {
		mod, name string
		typ       int
	}
	funcs    []wfunc
	memPages int
	exports  []struct {
		name      string
		kind, idx int
	}
	data []struct {
		off  int
		data []byte
	}
}

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func i32c(v int64) []byte { return append([]byte{opI32Const}, sleb(v)...) }

func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func vec(items ...[]byte) []byte {
	out := uleb(uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func section(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(content)))...), content...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func (m *wmodule) typ(params, results []byte) int {
	m.types = append(m.types, [2][]byte{params, results})
	return len(m.types) - 1
}

func (m *wmodule) encode() []byte {
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	var types [][]byte
	for _, t := range m.types {
		types = append(types, cat([]byte{0x60}, vec(bytesOf(t[0])...), vec(bytesOf(t[1])...)))
	}
	out = append(out, section(1, vec(types...))...)
	if len(m.imports) > 0 {
		var im [][]byte
		for _, i := range m.imports {
			im = append(im, cat(name(i.mod), name(i.name), []byte{0}, uleb(uint64(i.typ))))
		}
		out = append(out, section(2, vec(im...))...)
	}
	var fidx, codes [][]byte
	for _, f := range m.funcs {
		fidx = append(fidx, uleb(uint64(f.typ)))
		body := cat([]byte{0}, f.body, []byte{opEnd}) // no locals
		codes = append(codes, cat(uleb(uint64(len(body))), body))
	}
	out = append(out, section(3, vec(fidx...))...)
	out = append(out, section(5, vec(cat([]byte{0}, uleb(uint64(m.memPages)))))...)
	var ex [][]byte
	for _, e := range m.exports {
		ex = append(ex, cat(name(e.name), []byte{byte(e.kind)}, uleb(uint64(e.idx))))
	}
	out = append(out, section(7, vec(ex...))...)
	out = append(out, section(10, vec(codes...))...)
	if len(m.data) > 0 {
		var ds [][]byte
		for _, d := range m.data {
			ds = append(ds, cat([]byte{0}, i32c(int64(d.off)), []byte{opEnd}, uleb(uint64(len(d.data))), d.data))
		}
		out = append(out, section(11, vec(ds...))...)
	}
	return out
}

func bytesOf(b []byte) [][]byte {
	var out [][]byte
	for _, c := range b {
		out = append(out, []byte{c})
	}
	return out
}

// guestModule is a minimal twig guest: it imports the four host functions
// (indices 0-3: emit_event, role_call, role_next, role_read), exports
// memory, twig_abi_version (returning version), twig_alloc (always 1024) and
// twig_run with the given body, and holds data at offset 4096.
func guestModule(version int64, run []byte, data []byte) []byte {
	return guestModuleFlags(version, run, data, nil)
}

// flagsFunc is the twig_flags function guestModuleFlags exports: of type
// () -> i32, or (i32) -> i32 with param.
type flagsFunc struct {
	param bool
	body  []byte
}

// guestModuleFlags is guestModule exporting twig_flags too, when flags is
// set.
func guestModuleFlags(version int64, run []byte, data []byte, flags *flagsFunc) []byte {
	m := &wmodule{memPages: 2}
	t2 := m.typ([]byte{i32, i32}, []byte{i32})
	t3 := m.typ([]byte{i32, i32, i32}, []byte{i32})
	t0 := m.typ(nil, []byte{i32})
	t1 := m.typ([]byte{i32}, []byte{i32})
	for _, im := range []struct {
		name string
		typ  int
	}{{"emit_event", t2}, {"role_call", t3}, {"role_next", t2}, {"role_read", t3}} {
		m.imports = append(m.imports, struct {
			mod, name string
			typ       int
		}{"twig", im.name, im.typ})
	}
	m.funcs = []wfunc{
		{t0, i32c(version)},
		{t1, i32c(1024)},
		{t2, run},
	}
	m.exports = []struct {
		name      string
		kind, idx int
	}{{"memory", 2, 0}, {"twig_abi_version", 0, 4}, {"twig_alloc", 0, 5}, {"twig_run", 0, 6}}
	if flags != nil {
		typ := t0
		if flags.param {
			typ = t1
		}
		m.funcs = append(m.funcs, wfunc{typ, flags.body})
		m.exports = append(m.exports, struct {
			name      string
			kind, idx int
		}{"twig_flags", 0, 7})
	}
	if data != nil {
		m.data = append(m.data, struct {
			off  int
			data []byte
		}{4096, data})
	}
	return m.encode()
}

// emitOnceGuest is a guestModule of ABI version whose run emits frame (at
// 4096) as one event, ignores the status and returns 0.
func emitOnceGuest(version int64, frame []byte) []byte {
	return guestModule(version, cat(i32c(4096), i32c(int64(len(frame))), call(fnEmitEvent), []byte{opDrop}, i32c(0)), frame)
}

// Host function indices in guestModule.
const (
	fnEmitEvent = 0
	fnRoleCall  = 1
	fnRoleNext  = 2
	fnRoleRead  = 3
)

func call(fn int) []byte { return []byte{opCall, byte(fn)} }
