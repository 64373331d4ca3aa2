package sandbox

import (
	"encoding/binary"
	"errors"
	"sort"
)

// coalesceData rewrites a module's data section so that active data
// segments less than mergeGap bytes apart become one segment (the gap
// zero-filled, as fresh memory already is). The Go toolchain writes a
// segment per run of non-zero bytes — tens of thousands for twig's guest —
// and instantiation pays per segment: merging them makes instantiation
// several times faster. Memory ends up byte-for-byte the same. A module
// this does not understand (passive or overlapping segments, offsets that
// are not constants) is returned as it is.
func coalesceData(wasm []byte) []byte {
	out, err := coalesce(wasm)
	if err != nil {
		return wasm
	}
	return out
}

const mergeGap = 4096

var errSkip = errors.New("leave the module as it is")

type segment struct {
	off  uint32
	data []byte
}

func coalesce(wasm []byte) ([]byte, error) {
	segs, head, end, err := dataSegments(wasm)
	if err != nil || len(segs) < 2 {
		return nil, errSkip
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].off < segs[j].off })
	var merged []segment
	for _, s := range segs {
		if len(merged) > 0 {
			last := &merged[len(merged)-1]
			end := uint64(last.off) + uint64(len(last.data))
			if uint64(s.off) < end {
				return nil, errSkip // overlapping: their order matters, keep it
			}
			if uint64(s.off)-end <= mergeGap {
				last.data = append(last.data, make([]byte, uint64(s.off)-end)...)
				last.data = append(last.data, s.data...)
				continue
			}
		}
		merged = append(merged, segment{off: s.off, data: append([]byte(nil), s.data...)})
	}
	var content []byte
	content = binary.AppendUvarint(content, uint64(len(merged)))
	for _, s := range merged {
		content = append(content, 0, 0x41)
		content = appendSleb32(content, int32(s.off))
		content = append(content, 0x0b)
		content = binary.AppendUvarint(content, uint64(len(s.data)))
		content = append(content, s.data...)
	}
	out := make([]byte, 0, len(wasm))
	out = append(out, wasm[:head]...)
	out = append(out, 11)
	out = binary.AppendUvarint(out, uint64(len(content)))
	out = append(out, content...)
	return append(out, wasm[end:]...), nil
}

// dataSegments reads a module's data section: its active segments with
// constant offsets, and where the section starts (its id byte) and ends.
func dataSegments(wasm []byte) (segs []segment, head, end int, _ error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, 0, 0, errSkip
	}
	var b []byte
	for i := 8; i < len(wasm); {
		id := wasm[i]
		n, k := binary.Uvarint(wasm[i+1:])
		if k <= 0 || uint64(i+1+k)+n > uint64(len(wasm)) {
			return nil, 0, 0, errSkip
		}
		start, stop := i+1+k, i+1+k+int(n)
		switch id {
		case 11:
			b, head, end = wasm[start:stop], i, stop
		case 12: // data count: it would need the new count too
			return nil, 0, 0, errSkip
		}
		i = stop
	}
	if b == nil {
		return nil, 0, 0, errSkip
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return nil, 0, 0, errSkip
	}
	b = b[k:]
	segs = make([]segment, 0, count)
	for range count {
		// flag 0: active, memory 0, offset (i32.const N end), bytes
		if len(b) < 3 || b[0] != 0 || b[1] != 0x41 {
			return nil, 0, 0, errSkip
		}
		off, k := sleb32(b[2:])
		if k <= 0 || len(b) < 2+k+1 || b[2+k] != 0x0b || off < 0 {
			return nil, 0, 0, errSkip
		}
		b = b[2+k+1:]
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, 0, 0, errSkip
		}
		segs = append(segs, segment{off: uint32(off), data: b[k : k+int(n)]})
		b = b[k+int(n):]
	}
	if len(b) != 0 {
		return nil, 0, 0, errSkip
	}
	return segs, head, end, nil
}

// sleb32 reads a signed LEB128 i32; k ≤ 0 when it is malformed.
func sleb32(b []byte) (int32, int) {
	var v int64
	var shift uint
	for i := 0; i < len(b) && i < 5; i++ {
		c := b[i]
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return int32(v), i + 1
		}
	}
	return 0, 0
}

func appendSleb32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
