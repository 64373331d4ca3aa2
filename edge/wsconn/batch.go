package wsconn

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// corkConn is the server side's network connection under gorilla: while
// corked, what gorilla writes (whole frames: each write is one frame) is
// gathered in memory, and uncork sends it in one write. gorilla writes each
// message with its own system call; WriteMessages corks around a batch so
// that a burst of events costs one. Frames of other goroutines (pings,
// pongs, a close) written while corked join the batch in order.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
	spare  []byte // the last batch's buffer, reused
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.corked {
		c.buf = append(c.buf, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	if c.buf == nil {
		c.buf, c.spare = c.spare[:0], nil
	}
	c.mu.Unlock()
}

// uncork sends what was gathered. The socket write happens outside the lock:
// a frame written meanwhile by another goroutine goes straight to the
// socket, whole (a net.Conn serializes its writes), after or before this
// batch, as it would have beside gorilla's own writes.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	c.corked = false
	b := c.buf
	c.buf = nil
	c.mu.Unlock()
	if len(b) == 0 {
		return nil
	}
	_, err := c.Conn.Write(b)
	if cap(b) <= 256<<10 { // a huge batch's buffer is not kept
		c.mu.Lock()
		c.spare = b[:0]
		c.mu.Unlock()
	}
	return err
}

// hijackWriter hands gorilla the corkConn in place of the hijacked
// connection.
type hijackWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &corkConn{Conn: c}
	return h.conn, brw, nil
}

func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }
