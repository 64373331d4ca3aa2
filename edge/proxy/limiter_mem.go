package proxy

import (
	"context"
	"sync"
	"time"
)

// MemLimiter keeps the buckets in this process's memory: sound for one
// process (the native twin), not for workerd (see Limiter).
type MemLimiter struct {
	mu  sync.Mutex
	b   map[string]*bucket
	now func() time.Time
}

// NewMemLimiter returns an empty MemLimiter on the wall clock.
func NewMemLimiter() *MemLimiter { return &MemLimiter{b: map[string]*bucket{}, now: time.Now} }

// Take spends cost tokens of key's bucket; see Limiter.
func (m *MemLimiter) Take(_ context.Context, key string, cost int, r Rate) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.b[key]
	if b == nil {
		b = &bucket{}
		m.b[key] = b
	}
	now := m.now().UnixMilli()
	d := b.take(now, cost, r)
	if len(m.b) > 10000 { // forget full buckets so the map stays small
		for k, v := range m.b {
			if v.Tokens >= float64(r.Burst) || float64(now-v.At)*float64(r.PerMinute)/60000 >= float64(r.Burst) {
				delete(m.b, k)
			}
		}
	}
	return d, nil
}
