package rolecall_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
)

// FuzzDecode: a call message as a client sends it, through the wire
// decoder and the one validator. Nothing panics; what is accepted has a
// state the roles can index safely, and encodes back to a call that decodes
// to the same request.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := protocol.DecodeMessage(data)
		if err != nil {
			return
		}
		c, ok := m.Body.(*protocol.Call)
		if !ok {
			return
		}
		req, err := rolecall.Decode(*c, nil)
		if err != nil {
			return
		}
		st := req.State
		c0 := st.Canvas
		if c0 == nil || len(c0.Pix) != 4*c0.W*c0.H || len(c0.Painted) != c0.H || len(c0.Tokens) != c0.Grid*c0.Grid ||
			len(st.Thoughts) > st.Band || st.Rows.Start < 0 || st.Rows.End > c0.H {
			t.Fatalf("accepted a state the roles cannot index: band %d rows %+v canvas %v thoughts %d", st.Band, st.Rows, c0 != nil, len(st.Thoughts))
		}
		var again protocol.Call
		switch req.Role {
		case protocol.RoleThink:
			again = rolecall.ThinkCall(req.Think())
		case protocol.RolePaint:
			again = rolecall.PaintCall(req.Paint())
		case protocol.RoleCritique:
			again = rolecall.CritiqueCall(req.Critique())
		case protocol.RoleDecide:
			again = rolecall.DecideCall(req.Decide())
		case protocol.RoleReview:
			again = rolecall.ReviewCall(req.Review())
		}
		b, err := json.Marshal(protocol.Message{ID: "again", Body: &again})
		if err != nil {
			t.Fatal(err)
		}
		m2, err := protocol.DecodeMessage(b)
		if err != nil {
			t.Fatalf("the re-encoded call %s does not decode: %v", b, err)
		}
		req2, err := rolecall.Decode(*m2.Body.(*protocol.Call), nil)
		if err != nil {
			t.Fatalf("the re-encoded call %s is refused: %v", b, err)
		}
		if c0.AllTokens() {
			// A token model's canvas travels as its tokens alone: its
			// pixels are the token renderer's (none here), not the PNG's.
			req2.State.Canvas.Pix = c0.Pix
		}
		if !reflect.DeepEqual(req, req2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", req, req2)
		}
	})
}
