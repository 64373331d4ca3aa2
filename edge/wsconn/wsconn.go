// Package wsconn is the gateway's Transport over gorilla/websocket: the
// server side (Upgrade, with ping/pong, read and write deadlines and size
// limits) and the client side (Dial). It is what `twig serve` and the Go
// tests use; the Worker has its own transport over WebSocketPair.
package wsconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// Options configure a connection; zero fields take the defaults of
// DefaultOptions.
type Options struct {
	// MaxMessageBytes is the soft limit: a larger message is read to its end,
	// dropped, and ReadMessage returns gateway.ErrMessageTooLarge. Default 64 KiB.
	MaxMessageBytes int
	// HardMessageBytes is the hard limit: a larger message closes the
	// connection with 1009 (it is not read). Default 16 × MaxMessageBytes.
	HardMessageBytes int
	// WriteTimeout bounds one message write (and a ping). Default 10 s.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings (server side only). Default 20 s.
	PingInterval time.Duration
	// PongWait closes a server-side connection that sent nothing, not even a
	// pong, for this long. Default 3 × PingInterval.
	PongWait time.Duration
	// CloseLinger is how long Close waits to send the close frame (behind a
	// message being written by another goroutine), then for the peer's
	// close reply, before dropping the connection. Default 1 s.
	CloseLinger time.Duration
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{MaxMessageBytes: 64 << 10, WriteTimeout: 10 * time.Second, PingInterval: 20 * time.Second,
		CloseLinger: time.Second}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = d.MaxMessageBytes
	}
	if o.HardMessageBytes <= 0 {
		o.HardMessageBytes = 16 * o.MaxMessageBytes
	}
	o.HardMessageBytes = max(o.HardMessageBytes, o.MaxMessageBytes)
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = d.WriteTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = d.PingInterval
	}
	if o.PongWait <= 0 {
		o.PongWait = 3 * o.PingInterval
	}
	if o.CloseLinger <= 0 {
		o.CloseLinger = d.CloseLinger
	}
	return o
}

// Conn is one websocket connection; it implements gateway.Transport.
type Conn struct {
	ws       *websocket.Conn
	o        Options
	server   bool
	cork     *corkConn // server side: batches WriteMessages into one write
	once     sync.Once
	done     chan struct{}
	closeErr error
}

var _ gateway.BatchTransport = (*Conn)(nil)

// Upgrade turns an HTTP request into a server-side connection. checkOrigin
// decides on the Origin header (nil: gorilla's same-origin check). On
// failure gorilla has already answered the request.
func Upgrade(w http.ResponseWriter, r *http.Request, o Options, checkOrigin func(*http.Request) bool) (*Conn, error) {
	o = o.withDefaults()
	up := websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10, CheckOrigin: checkOrigin,
		HandshakeTimeout: 10 * time.Second}
	hw := &hijackWriter{ResponseWriter: w}
	ws, err := up.Upgrade(hw, r, nil)
	if err != nil {
		return nil, err
	}
	c := newConn(ws, o, true)
	c.cork = hw.conn
	c.keepAlive()
	return c, nil
}

// DialOptions configure Dial. A client's MaxMessageBytes defaults to
// protocol.MaxLineBytes (the events it reads may carry pixel rows).
type DialOptions struct {
	Options
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// Origin, when set, is sent as the Origin header.
	Origin string
	// Header holds more request headers.
	Header http.Header
	// NetDial, when set, makes the TCP connection (tests use it to shrink
	// socket buffers).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial opens a client-side connection to a ws:// or wss:// URL. On a failed
// handshake the error names the HTTP status and the response is returned
// (its body closed).
func Dial(ctx context.Context, url string, o DialOptions) (*Conn, *http.Response, error) {
	h := http.Header{}
	for k, v := range o.Header {
		h[k] = v
	}
	if o.Token != "" {
		h.Set("Authorization", "Bearer "+o.Token)
	}
	if o.Origin != "" {
		h.Set("Origin", o.Origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10,
		NetDialContext: o.NetDial}
	ws, resp, err := d.DialContext(ctx, url, h)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
			return nil, resp, fmt.Errorf("wsconn: dial %s: %s: %w", url, resp.Status, err)
		}
		return nil, nil, fmt.Errorf("wsconn: dial %s: %w", url, err)
	}
	if o.MaxMessageBytes <= 0 {
		// A client reads events, and a run of a real picture carries its
		// pixel rows as PNGs (a few hundred KiB an event): it takes what a
		// trace line may hold.
		o.MaxMessageBytes = protocol.MaxLineBytes
	}
	return newConn(ws, o.Options.withDefaults(), false), resp, nil
}

func newConn(ws *websocket.Conn, o Options, server bool) *Conn {
	ws.SetReadLimit(int64(o.HardMessageBytes))
	return &Conn{ws: ws, o: o, server: server, done: make(chan struct{})}
}

// keepAlive pings the client every PingInterval and drops a connection that
// sent nothing for PongWait.
func (c *Conn) keepAlive() {
	c.ws.SetReadDeadline(time.Now().Add(c.o.PongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(c.o.PongWait))
	})
	go func() {
		t := time.NewTicker(c.o.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.o.WriteTimeout)); err != nil {
					return
				}
			}
		}
	}()
}

// ReadMessage returns the next whole message; see gateway.Transport.
func (c *Conn) ReadMessage() ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, c.readErr(err)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(c.o.MaxMessageBytes)+1))
	if err != nil {
		return nil, c.readErr(err)
	}
	if len(b) > c.o.MaxMessageBytes {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, c.readErr(err)
		}
		c.alive()
		return nil, gateway.ErrMessageTooLarge
	}
	c.alive()
	return b, nil
}

func (c *Conn) alive() {
	if c.server {
		c.ws.SetReadDeadline(time.Now().Add(c.o.PongWait))
	}
}

func (c *Conn) readErr(err error) error {
	switch {
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
		return fmt.Errorf("%w: %v", gateway.ErrClosedByPeer, err)
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has sent 1009 already
		c.once.Do(func() { close(c.done); time.AfterFunc(c.o.CloseLinger, func() { c.ws.Close() }) })
		return fmt.Errorf("wsconn: a message was over the hard limit of %d bytes: closed with 1009: %w", c.o.HardMessageBytes, err)
	}
	return err
}

// WriteMessage writes one text message within WriteTimeout.
func (c *Conn) WriteMessage(b []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(c.o.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// WriteMessages writes several text messages, in order, in one write to the
// socket (server side; a client-side connection writes them one by one),
// within WriteTimeout; see gateway.BatchTransport.
func (c *Conn) WriteMessages(msgs [][]byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(c.o.WriteTimeout))
	if c.cork == nil {
		for _, m := range msgs {
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				return err
			}
		}
		return nil
	}
	c.cork.cork()
	for _, m := range msgs {
		if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
			c.cork.uncork()
			return err
		}
	}
	return c.cork.uncork()
}

// Close sends a close frame and ends the connection once the peer replied
// or CloseLinger passed; at once when the frame cannot be sent.
func (c *Conn) Close(code int, reason string) error {
	c.once.Do(func() {
		close(c.done)
		if code == 0 {
			code = websocket.CloseNormalClosure
		}
		err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, textutil.Cut(reason, 123)),
			time.Now().Add(c.o.CloseLinger))
		if err != nil {
			c.closeErr = c.ws.Close()
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(c.o.CloseLinger))
		time.AfterFunc(c.o.CloseLinger, func() { c.ws.Close() })
	})
	return c.closeErr
}

// CloseNow drops the connection without a close frame (tests use it to
// vanish like a dead client).
func (c *Conn) CloseNow() error {
	c.once.Do(func() { close(c.done) })
	return c.ws.Close()
}

// NetConn is the underlying network connection.
func (c *Conn) NetConn() net.Conn {
	if c.cork != nil {
		return c.cork.Conn
	}
	return c.ws.NetConn()
}
