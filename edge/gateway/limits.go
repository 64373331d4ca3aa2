package gateway

import (
	"time"

	"github.com/twig-project/twig/core/protocol"
)

// Limits bound what one client may cost the gateway. The zero value of a
// field means its default; DefaultLimits is the one place defaults live.
type Limits struct {
	// MaxMessageBytes is the largest client message: a larger one is dropped
	// with a message_too_large error and the connection goes on. Default 64 KiB.
	MaxMessageBytes int
	// MaxInFlight is the number of runs and calls one connection may have in
	// flight; more are refused with too_many_requests. Default 4.
	MaxInFlight int
	// MaxInFlightPerAddr is the same across every connection from one
	// address. Default 16.
	MaxInFlightPerAddr int
	// MaxConnsPerAddr is the number of open connections from one address.
	// Default 32.
	MaxConnsPerAddr int
	// MaxActive is the number of runs and calls doing model work at once,
	// across the gateway; more wait their turn in arrival order (their
	// deadline runs while they wait). 0: no limit (a proxy's backend does no
	// work of its own). `twig serve` sets it to its number of CPUs.
	MaxActive int
	// QueueMessages bounds a connection's outbound queue. Default 1024.
	QueueMessages int
	// CoalesceAt is the queue length from which consecutive thought deltas
	// of one band are merged into one (thought_delta.coalesced says how
	// many). Default QueueMessages/4.
	CoalesceAt int
	// MaxCoalescedBytes caps the text of a merged delta. Default 4 KiB.
	MaxCoalescedBytes int
	// IdleTimeout closes a connection (code 4000) with nothing in flight and
	// no message from the client for this long. Default 5 minutes.
	IdleTimeout time.Duration
	// RunTimeout bounds one run or call (deadline_exceeded). Default 5 minutes.
	RunTimeout time.Duration
	// FlushTimeout bounds how long a closing connection (drain, idle) may
	// take to deliver what is queued. Default 5 seconds.
	FlushTimeout time.Duration
	// MaxPictureBytes bounds the memory one client picture (an edit's image
	// or mask, a chat image_url) may take decoded, estimated from its
	// declared size before decoding: width × height × bytes a pixel, plus
	// what its decoder holds beside. Larger ones are refused with 413
	// picture_too_large. Default 64 MiB (4096² at 8 bits RGBA; twig's
	// pictures are 256²).
	MaxPictureBytes int64
	// PictureBudgetBytes bounds the memory all the pictures being decoded
	// at once may take, across the gateway; decodes wait their turn for it
	// (in arrival order, while their request lasts). Default 2 ×
	// MaxPictureBytes.
	PictureBudgetBytes int64
}

// DefaultLimits returns the defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:    64 << 10,
		MaxInFlight:        4,
		MaxInFlightPerAddr: 16,
		MaxConnsPerAddr:    32,
		QueueMessages:      1024,
		CoalesceAt:         256,
		MaxCoalescedBytes:  4 << 10,
		IdleTimeout:        5 * time.Minute,
		RunTimeout:         5 * time.Minute,
		FlushTimeout:       5 * time.Second,
		MaxPictureBytes:    64 << 20,
		PictureBudgetBytes: 128 << 20,
	}
}

// withDefaults fills every zero field from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxMessageBytes, d.MaxMessageBytes)
	set(&l.MaxInFlight, d.MaxInFlight)
	set(&l.MaxInFlightPerAddr, d.MaxInFlightPerAddr)
	set(&l.MaxConnsPerAddr, d.MaxConnsPerAddr)
	set(&l.QueueMessages, d.QueueMessages)
	set(&l.CoalesceAt, l.QueueMessages/4)
	set(&l.MaxCoalescedBytes, d.MaxCoalescedBytes)
	setD(&l.IdleTimeout, d.IdleTimeout)
	setD(&l.RunTimeout, d.RunTimeout)
	setD(&l.FlushTimeout, d.FlushTimeout)
	if l.MaxPictureBytes <= 0 {
		l.MaxPictureBytes = d.MaxPictureBytes
	}
	if l.PictureBudgetBytes <= 0 {
		l.PictureBudgetBytes = 2 * l.MaxPictureBytes
	}
	l.PictureBudgetBytes = max(l.PictureBudgetBytes, l.MaxPictureBytes) // one picture at the limit must fit
	return l
}

// wire is the part of the limits a client is told in hello.
func (l Limits) wire() protocol.Limits {
	return protocol.Limits{MaxMessageBytes: l.MaxMessageBytes, MaxInFlight: l.MaxInFlight,
		MaxInFlightPerAddr: l.MaxInFlightPerAddr, QueueMessages: l.QueueMessages,
		IdleTimeoutMs: l.IdleTimeout.Milliseconds(), RunTimeoutMs: l.RunTimeout.Milliseconds()}
}
