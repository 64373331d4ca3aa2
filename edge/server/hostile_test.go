package server_test

// Hostile clients against a real server (issue 16): DNS rebinding, the drain
// seen from outside, resets, vanishing stream readers, tokens in URLs. Each
// row of docs/HOSTILE.md names the test that holds it.

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/server"
)

// logBuffer collects a server's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// find returns the first logged record whose msg is msg, or nil.
func (l *logBuffer) find(msg string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// A page on evil.example whose name was rebound to the server's address
// sends Host: evil.example:PORT with Origin http://evil.example:PORT: with
// --origins set (and without), a named host equal to Host is not enough.
// Own origins by IP address or localhost cannot be rebound and still work.
func TestHostileDNSRebinding(t *testing.T) {
	for _, origins := range [][]string{{"https://ok.example"}, nil} {
		ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), Origins: origins})
		port := ts.http.URL[strings.LastIndex(ts.http.URL, ":")+1:]
		evil := "evil.example:" + port
		do := func(method, path, host, origin, body string) int {
			req, _ := http.NewRequest(method, ts.http.URL+path, strings.NewReader(body))
			req.Host = host
			req.Header.Set("Origin", origin)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		chat := `{"model":"twig","messages":[{"role":"user","content":"a red circle"}]}`
		if got := do("POST", "/v1/chat/completions", evil, "http://"+evil, chat); got != http.StatusForbidden {
			t.Errorf("origins %v: rebound chat: %d, want 403", origins, got)
		}
		if got := do("OPTIONS", "/v1/chat/completions", evil, "http://"+evil, ""); got != http.StatusForbidden {
			t.Errorf("origins %v: rebound preflight: %d, want 403", origins, got)
		}
		h := http.Header{"Origin": {"http://" + evil}, "Host": {evil}}
		d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, strings.TrimPrefix(ts.http.URL, "http://"))
		}}
		if c, resp, err := d.Dial("ws://"+evil+"/v1/ws", h); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			if c != nil {
				c.Close()
			}
			t.Errorf("origins %v: rebound websocket: %v, want 403", origins, err)
		}
		own := strings.TrimPrefix(ts.http.URL, "http://")
		if got := do("OPTIONS", "/v1/chat/completions", own, ts.http.URL, ""); got != http.StatusNoContent {
			t.Errorf("origins %v: own origin by IP: %d, want 204", origins, got)
		}
		if got := do("OPTIONS", "/v1/chat/completions", "localhost:"+port, "http://localhost:"+port, ""); got != http.StatusNoContent {
			t.Errorf("origins %v: own origin by localhost: %d, want 204", origins, got)
		}
		if origins != nil {
			if got := do("OPTIONS", "/v1/chat/completions", evil, "https://ok.example", ""); got != http.StatusNoContent {
				t.Errorf("listed origin: %d, want 204", got)
			}
		}
	}
}

// While a drain waits for a run, /healthz and new websockets get the
// documented 503 draining (the listener stays open), not connection refused.
func TestHostileDrainAnswers503(t *testing.T) {
	f := newFake(1, 0).holding() // the run is in flight until the checks below are done
	srv, err := server.New(server.Options{Backend: f.backend(), Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	c := dial(t, "ws://"+ln.Addr().String()+"/v1/ws", nil)
	send(t, c, start("r", "anything", protocol.DefaultSettings()))
	<-f.started
	stop()
	waitFor(t, 20*time.Second, "draining", func() bool { return srv.Gateway().Stats().Draining })
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("healthz while draining: %v, want 503", err)
	}
	var health struct{ Status string }
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || health.Status != "draining" {
		t.Fatalf("healthz while draining: %d %q, want 503 draining", resp.StatusCode, health.Status)
	}
	c2, resp, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/v1/ws", nil)
	if c2 != nil {
		c2.Close()
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a new websocket while draining: %v, want 503", err)
	}
	var e struct{ Error struct{ Code string } }
	json.NewDecoder(resp.Body).Decode(&e)
	if e.Error.Code != protocol.CodeDraining {
		t.Fatalf("a new websocket while draining: code %q, want %q", e.Error.Code, protocol.CodeDraining)
	}
	f.release()
	if evs := untilEnd(t, c, "r"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("the run in flight ended with %s", evs[len(evs)-1].Type)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the listener is still open after the drain")
	}
}

// A client that resets its TCP connection is logged as a lost connection
// (1006), not as a clean close 1000.
func TestHostileResetLogged(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), Logger: logs.logger()})
	c := dial(t, ts.ws, nil)
	c.NetConn().(*net.TCPConn).SetLinger(0) // close sends RST
	c.NetConn().Close()
	var rec map[string]any
	waitFor(t, time.Minute, "the close log", func() bool { rec = logs.find("connection closed"); return rec != nil })
	if code, _ := rec["code"].(float64); code != 1006 {
		t.Fatalf("a reset was logged as %v, want code 1006: %v", rec["code"], rec)
	}
	if reason, _ := rec["reason"].(string); !strings.Contains(reason, "connection lost") {
		t.Fatalf("reason %q, want connection lost", reason)
	}
}

// A chat stream whose reader vanishes is logged canceled, not internal. The
// thinker here goes on emitting after its context ends (as a remote backend
// that does not check it may), so the failure that reaches the handler is
// the write to the gone client.
func TestHostileChatStreamDisconnect(t *testing.T) {
	var logs logBuffer
	gone := make(chan struct{})
	var once sync.Once
	b := engine.FuncBackend{Bands: 2, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{Thinker: engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
			for i := 0; ; i++ {
				emit("word ")
				if i == 2 {
					<-gone // the client has read the first chunks and gone
				}
				if i > 2 && ctx.Err() != nil {
					for range 64 { // a backend slow to notice
						emit("word ")
					}
					return "word word", nil
				}
			}
		})}, nil
	}}
	ts := newServer(t, server.Options{Backend: b, Logger: logs.logger()})
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"twig","stream":true,"messages":[{"role":"user","content":"a red circle"}]}`
	req, _ := http.NewRequest("POST", ts.http.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Write(conn)
	r := bufio.NewReader(conn)
	for chunks := 0; chunks < 2; {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			chunks++
		}
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	once.Do(func() { close(gone) })
	var rec map[string]any
	waitFor(t, time.Minute, "the chat log", func() bool { rec = logs.find("chat completion"); return rec != nil })
	if rec["code"] != protocol.CodeCanceled {
		t.Fatalf("a vanished stream reader was logged %v, want %s", rec["code"], protocol.CodeCanceled)
	}
}

// ?access_token is for websockets only (browsers cannot set their
// headers); a plain HTTP request must send Authorization.
func TestHostileAccessTokenOnlyOnWebSocket(t *testing.T) {
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), Token: "s3cret"})
	resp, err := http.Get(ts.http.URL + "/v1/models?access_token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v1/models?access_token: %d, want 401", resp.StatusCode)
	}
	body := `{"model":"twig","messages":[{"role":"user","content":"a red circle"}]}`
	resp, err = http.Post(ts.http.URL+"/v1/chat/completions?access_token=s3cret", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST chat?access_token: %d, want 401", resp.StatusCode)
	}
	c := dial(t, ts.ws+"?access_token=s3cret", nil)
	c.Close()
}

// zeroPNG writes a w×h PNG of transparent black, 16 bits a channel (RGBA64)
// or 8, straight from its chunks: the rows of zeros compress about a
// thousand to one, so a 4096² 16-bit one is a 130 KB upload that decodes
// to 128 MiB.
func zeroPNG(w, h int, sixteen bool) []byte {
	depth, bpp := byte(8), 4
	if sixteen {
		depth, bpp = 16, 8
	}
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+w*bpp) // filter 0, then zeros
	for range h {
		zw.Write(row)
	}
	zw.Close()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, depth, 6, 0, 0, 0)) // RGBA, deflate, no filter, no interlace
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

var bombPNG = sync.OnceValue(func() []byte { return zeroPNG(4096, 4096, true) })

// editRequest is a multipart /v1/images/edits request with pic as the image.
func editRequest(t testing.TB, url string, pic []byte) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("prompt", "a red circle")
	fw, _ := mw.CreateFormFile("image", "canvas.png")
	fw.Write(pic)
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/v1/images/edits", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func apiStatus(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

// A 130 KB PNG declaring 4096² pixels at 16 bits (128 MiB decoded) is
// refused from its header with 413 picture_too_large, as an edit's image
// and as a chat image_url; nothing is decoded. (Before: decoded, 200; 24 at
// once took the server to 4.15 GB.)
func TestHostilePictureBomb(t *testing.T) {
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend()})
	bomb := bombPNG()
	if len(bomb) > 200<<10 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	if status, code := apiStatus(t, editRequest(t, ts.http.URL, bomb)); status != http.StatusRequestEntityTooLarge || code != "picture_too_large" {
		t.Errorf("edit with the bomb: %d %s, want 413 picture_too_large", status, code)
	}
	chat := fmt.Sprintf(`{"model":"twig","messages":[{"role":"user","content":[{"type":"text","text":"a red circle"},{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}]}]}`,
		base64.StdEncoding.EncodeToString(bomb))
	req, _ := http.NewRequest("POST", ts.http.URL+"/v1/chat/completions", strings.NewReader(chat))
	req.Header.Set("Content-Type", "application/json")
	if status, code := apiStatus(t, req); status != http.StatusRequestEntityTooLarge || code != "picture_too_large" {
		t.Errorf("chat with the bomb: %d %s, want 413 picture_too_large", status, code)
	}
	if s := ts.Gateway().Stats(); s.PictureBytesPeak != 0 {
		t.Errorf("%d bytes were taken for refused pictures", s.PictureBytesPeak)
	}
	// an ordinary picture still goes through
	if status, code := apiStatus(t, editRequest(t, ts.http.URL, zeroPNG(256, 256, false))); status != http.StatusOK {
		t.Errorf("edit with a 256² picture: %d %s", status, code)
	}
}

// Pictures under the per-picture limit, uploaded at once, share the budget:
// what is being decoded never adds up past it, and every upload is answered.
func TestHostilePictureBudget(t *testing.T) {
	const pic, budget = 32 << 20, 40 << 20 // one 2048² 16-bit picture at a time
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(),
		Limits: gateway.Limits{MaxPictureBytes: pic, PictureBudgetBytes: budget}})
	big := zeroPNG(2048, 2048, true)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if status, code := apiStatus(t, editRequest(t, ts.http.URL, big)); status != http.StatusOK {
				t.Errorf("a concurrent upload: %d %s, want 200", status, code)
			}
		})
	}
	wg.Wait()
	s := ts.Gateway().Stats()
	if s.PictureBytesPeak < 32<<20 || s.PictureBytesPeak > budget {
		t.Fatalf("peak picture memory %d MiB, want one picture's (32 MiB) and at most the budget (%d MiB)", s.PictureBytesPeak>>20, budget>>20)
	}
	if s.PictureBytes != 0 {
		t.Fatalf("%d bytes still taken after every request ended", s.PictureBytes)
	}
}

// A run played elsewhere through a server's model calls (the Worker's
// websocket runs, `twig draw --backend twig`) with a prompt of unknown
// words fails with invalid_request, as on the server itself, not with
// thinker_failed.
func TestHostileUnknownWordsThroughCalls(t *testing.T) {
	ts := newServer(t, server.Options{})
	cl := dialClient(t, ts.ws)
	var types []string
	_, err := engine.Draw(context.Background(), cl.Backend(3), engine.RunSpec{Prompt: "a red zorblax above a blue square", Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error { types = append(types, ev.Type); return nil })
	if code := engine.Code(err); code != protocol.CodeInvalidRequest {
		t.Fatalf("unknown words through model calls: %s (%v), want invalid_request", code, err)
	}
	if !strings.Contains(err.Error(), "zorblax") {
		t.Fatalf("the error does not name the word: %v", err)
	}
	if n := len(types); n == 0 || types[n-1] != protocol.TypeError {
		t.Fatalf("events %v, want the run to end with an error event", types)
	}
}
