package nn

import (
	"math"

	"github.com/twig-project/twig/internal/kernels"
)

// attBlock is the query-row block of attention: a block of rows [r0,r1) of
// a document attends to keys [0,r1), so masked work is confined to the
// diagonal blocks while every product is a matrix product.
const attBlock = 32

// attentionForward runs causal, document-masked multi-head attention.
//
//	out [B,T,C]            head outputs, head h in channels [h*HS,(h+1)*HS)
//	qh, kh, vh, oh [B,NH,T,HS]  per-head q, k, v (saved for backward) and outputs (scratch)
//	att [B,NH,T,T]         softmax probabilities, packed per document and row block
//	qkv [B,T,3C]           the qkv projection: q, k, v each C wide
//	docStart [B,T]         row-local start of each token's document
//	tr [transposedLen(T,HS)] scratch: a document's keys of one head, transposed
func attentionForward(pool *kernels.Pool, out, qh, kh, vh, oh, att, qkv, tr []float32, docStart []int32, B, T, C, NH int) {
	HS := C / NH
	scale := float32(1 / math.Sqrt(float64(HS)))
	splitHeads(qh, kh, vh, qkv, B, T, C, NH)
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			bh := (b*NH + h) * T
			off := bh * T // into att
			forEachDoc(docStart[b*T:(b+1)*T], func(a, n int) {
				Q := qh[(bh+a)*HS : (bh+a+n)*HS]      // [n,HS]
				K := kh[(bh+a)*HS : (bh+a+n)*HS]      // [n,HS]
				V := vh[(bh+a)*HS : (bh+a+n)*HS]      // [n,HS]
				O := oh[(bh+a)*HS : (bh+a+n)*HS]      // [n,HS]
				KT, ld := transposeHead(tr, K, n, HS) // [HS,ld]: no packing per row block
				for r0 := 0; r0 < n; r0 += attBlock {
					r1 := min(r0+attBlock, n)
					rows := r1 - r0
					P := att[off : off+rows*r1] // [rows,r1]
					off += rows * r1
					pool.MatMul(P, Q[r0*HS:r1*HS], KT, rows, HS, r1, ld)
					for i := 0; i < rows; i++ {
						lim := r0 + i + 1
						row := P[i*r1 : (i+1)*r1]
						kernels.Softmax(row[:lim], scale)
						clear(row[lim:])
					}
					pool.MatMul(O[r0*HS:r1*HS], P, V[:r1*HS], rows, r1, HS, HS)
				}
			})
		}
	}
	mergeHeads(out, oh, B, T, C, NH)
}

// attentionBackward sets dqkv[B,T,3C] from dout[B,T,C].
// dqh, dkh, dvh, doh [B,NH,T,HS], dp [attBlock,T] and tr
// [transposedLen(T,HS)] are scratch.
func attentionBackward(pool *kernels.Pool, dqkv, dqh, dkh, dvh, doh, dp, tr, dout, qh, kh, vh, att []float32, docStart []int32, B, T, C, NH int) {
	HS := C / NH
	scale := float32(1 / math.Sqrt(float64(HS)))
	n4 := B * NH * T * HS
	clear(dqh[:n4])
	clear(dkh[:n4])
	clear(dvh[:n4])
	splitHeadsOne(doh, dout, B, T, C, NH)
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			bh := (b*NH + h) * T
			off := bh * T
			forEachDoc(docStart[b*T:(b+1)*T], func(a, n int) {
				s, e := (bh+a)*HS, (bh+a+n)*HS
				Q, K, V, dO := qh[s:e], kh[s:e], vh[s:e], doh[s:e] // [n,HS]
				dQ, dK, dV := dqh[s:e], dkh[s:e], dvh[s:e]         // [n,HS]
				VT, ld := transposeHead(tr, V, n, HS)              // [HS,ld]
				for r0 := 0; r0 < n; r0 += attBlock {
					r1 := min(r0+attBlock, n)
					rows := r1 - r0
					P := att[off : off+rows*r1] // [rows,r1]
					off += rows * r1
					dO := dO[r0*HS : r1*HS]                   // [rows,HS]
					dS := dp[:rows*r1]                        // [rows,r1]
					pool.MatMul(dS, dO, VT, rows, HS, r1, ld) // dP
					pool.MatMulAccTN(dV[:r1*HS], P, dO, rows, r1, HS)
					for i := 0; i < rows; i++ {
						lim := r0 + i + 1
						p, d := P[i*r1:i*r1+lim], dS[i*r1:(i+1)*r1]
						kernels.SoftmaxBackward(p, d[:lim], scale)
						clear(d[lim:])
					}
					pool.MatMulAcc(dQ[r0*HS:r1*HS], dS, K[:r1*HS], rows, r1, HS)
					pool.MatMulAccTN(dK[:r1*HS], dS, Q[r0*HS:r1*HS], rows, r1, HS)
				}
			})
		}
	}
	mergeHeads3(dqkv, dqh, dkh, dvh, B, T, C, NH)
}

// transposedLen is the scratch transposeHead needs for documents of up to
// T tokens.
func transposedLen(T, HS int) int { return HS * (T + 32) }

// transposeHead writes x[n,HS] transposed into tr as [HS][ld] and returns
// it with ld: n rounded up to 16 floats (64-byte rows), moved off multiples
// of 128 so that the rows, read together by the products, do not share
// cache sets.
func transposeHead(tr, x []float32, n, HS int) ([]float32, int) {
	ld := (n + 15) / 16 * 16
	if ld%128 == 0 {
		ld += 16
	}
	tr = tr[:HS*ld]
	x = x[:n*HS]
	for j := 0; j < n; j++ {
		for c, v := range x[j*HS : j*HS+HS] {
			tr[c*ld+j] = v
		}
	}
	return tr, ld
}

// forEachDoc calls f(start, length) for each document of one row, in order.
// Model.check guarantees documents are contiguous runs.
func forEachDoc(docStart []int32, f func(a, n int)) {
	T := len(docStart)
	for a := 0; a < T; {
		e := a + 1
		for e < T && int(docStart[e]) == a {
			e++
		}
		f(a, e-a)
		a = e
	}
}

// splitHeads copies qkv[B,T,3C] into qh, kh, vh [B,NH,T,HS].
func splitHeads(qh, kh, vh, qkv []float32, B, T, C, NH int) {
	HS := C / NH
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			row := qkv[(b*T+t)*3*C : (b*T+t+1)*3*C]
			for h := 0; h < NH; h++ {
				o := ((b*NH+h)*T + t) * HS
				copy(qh[o:o+HS], row[h*HS:])
				copy(kh[o:o+HS], row[C+h*HS:])
				copy(vh[o:o+HS], row[2*C+h*HS:])
			}
		}
	}
}

// splitHeadsOne copies x[B,T,C] into xh[B,NH,T,HS].
func splitHeadsOne(xh, x []float32, B, T, C, NH int) {
	HS := C / NH
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < NH; h++ {
				o := ((b*NH+h)*T + t) * HS
				copy(xh[o:o+HS], x[(b*T+t)*C+h*HS:])
			}
		}
	}
}

// mergeHeads copies xh[B,NH,T,HS] into x[B,T,C].
func mergeHeads(x, xh []float32, B, T, C, NH int) {
	HS := C / NH
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < NH; h++ {
				o := ((b*NH+h)*T + t) * HS
				copy(x[(b*T+t)*C+h*HS:(b*T+t)*C+h*HS+HS], xh[o:o+HS])
			}
		}
	}
}

// mergeHeads3 copies dqh, dkh, dvh [B,NH,T,HS] into dqkv[B,T,3C].
func mergeHeads3(dqkv, dqh, dkh, dvh []float32, B, T, C, NH int) {
	HS := C / NH
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			row := dqkv[(b*T+t)*3*C : (b*T+t+1)*3*C]
			for h := 0; h < NH; h++ {
				o := ((b*NH+h)*T + t) * HS
				copy(row[h*HS:h*HS+HS], dqh[o:o+HS])
				copy(row[C+h*HS:C+h*HS+HS], dkh[o:o+HS])
				copy(row[2*C+h*HS:2*C+h*HS+HS], dvh[o:o+HS])
			}
		}
	}
}

// addTo: dst[i] += src[i].
func addTo(dst, src []float32) { kernels.Add(dst, src) }
