package sandbox

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/twig-project/twig/wasm/abi"
)

// runKey finds a call's *run in the context wazero passes host functions.
type runKey struct{}

func runOf(ctx context.Context) *run {
	r, _ := ctx.Value(runKey{}).(*run)
	if r == nil {
		panic("BUG: sandbox: a host function was called outside a run")
	}
	return r
}

// hostModule defines the "twig" host module: the four imports of the ABI.
// Each is a thin adapter from the wasm stack to a method of the run.
func hostModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	def := func(name string, nparams int, f api.GoModuleFunc) {
		params := make([]api.ValueType, nparams)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(f, params, []api.ValueType{api.ValueTypeI32}).
			WithName(name).Export(name)
	}
	def(abi.FuncEmitEvent, 2, func(ctx context.Context, m api.Module, s []uint64) {
		s[0] = uint64(runOf(ctx).emitEvent(m.Memory(), uint32(s[0]), uint32(s[1])))
	})
	def(abi.FuncRoleCall, 3, func(ctx context.Context, m api.Module, s []uint64) {
		s[0] = uint64(runOf(ctx).roleCall(m.Memory(), uint32(s[0]), uint32(s[1]), uint32(s[2])))
	})
	def(abi.FuncRoleNext, 2, func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = uint64(runOf(ctx).roleNext(uint32(s[0]), uint32(s[1])))
	})
	def(abi.FuncRoleRead, 3, func(ctx context.Context, m api.Module, s []uint64) {
		s[0] = uint64(runOf(ctx).roleRead(m.Memory(), uint32(s[0]), uint32(s[1]), uint32(s[2])))
	})
	return b
}
