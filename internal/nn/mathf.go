package nn

import "github.com/twig-project/twig/internal/kernels"

// expf and tanhf are kernels.Exp and kernels.Tanh (their vector forms run
// inside kernels.Softmax and kernels.Gelu).
func expf(x float32) float32  { return kernels.Exp(x) }
func tanhf(x float32) float32 { return kernels.Tanh(x) }
