package wsconn_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/edge/wsconn"
)

// TestWriteMessages: a batch written in one socket write arrives as its
// messages, whole and in order, including one larger than gorilla's write
// buffer, with single writes before and after it and pings in between.
func TestWriteMessages(t *testing.T) {
	big := strings.Repeat("x", 20<<10)
	batch := [][]byte{[]byte("one"), []byte(big), []byte("three"), []byte(`{"v":"twig/2"}`)}
	done := make(chan error, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsconn.Upgrade(w, r, wsconn.Options{PingInterval: time.Millisecond}, func(*http.Request) bool { return true })
		if err != nil {
			done <- err
			return
		}
		err = c.WriteMessage([]byte("first"))
		for i := 0; err == nil && i < 50; i++ {
			buf := bytes.Clone(batch[i%len(batch)]) // reused below: the transport keeps nothing
			err = c.WriteMessages([][]byte{buf, batch[(i+1)%len(batch)]})
			clear(buf)
		}
		if err == nil {
			err = c.WriteMessage([]byte("last"))
		}
		done <- err
		c.Close(1000, "")
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := wsconn.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), wsconn.DialOptions{Options: wsconn.Options{MaxMessageBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	want := []string{"first"}
	for i := 0; i < 50; i++ {
		want = append(want, string(batch[i%len(batch)]), string(batch[(i+1)%len(batch)]))
	}
	want = append(want, "last")
	for i, w := range want {
		m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(m) != w {
			t.Fatalf("message %d: got %.40q (%d bytes), want %.40q (%d bytes)", i, m, len(m), w, len(w))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(fmt.Errorf("server: %w", err))
	}
}
