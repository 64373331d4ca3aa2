package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/edge/gateway"
)

// FuzzCall: any client message the decoder accepts as a call runs on the
// real (tiny) model without a panic, ending in a result or a coded error.
func FuzzCall(f *testing.F) {
	for _, s := range []string{
		`{"v":"twig/2","type":"call","id":"c","role":"think","request":{"prompt":"a red circle","rows":{"start":0,"end":6}}}`,
		`{"v":"twig/2","type":"call","id":"c","role":"think","request":{"prompt":"two blue squares","settings":{"adaptive":true},"band":1,"rows":{"start":5,"end":-1},"thoughts":["rows 0 4 : empty"]}}`,
		`{"v":"twig/2","type":"call","id":"c","role":"paint","request":{"prompt":"a red circle","rows":{"start":3,"end":9},"thought":"rows 3 8 : new small solid red circle at 4 5","canvas":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1]}}`,
		`{"v":"twig/2","type":"call","id":"c","role":"critique","request":{"prompt":"a red circle","band":0,"rows":{"start":0,"end":1},"thought":"rows 0 0 : empty","canvas":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1]}}`,
		`{"v":"twig/2","type":"call","id":"c","role":"decide","request":{"prompt":"a red circle","settings":{"adaptive":true},"band":0,"rows":{"start":0,"end":-1},"row":4}}`,
		// hostile: sizes no run has, unknown words
		`{"v":"twig/2","type":"call","id":"c","role":"paint","request":{"prompt":"a red circle","band":1099511627776,"rows":{"start":0,"end":1099511627776},"round":-1,"thought":"x"}}`,
		`{"v":"twig/2","type":"call","id":"c","role":"think","request":{"prompt":"a red zorblax","settings":{"bands":16,"max_thought_tokens":1099511627776},"rows":{"start":0,"end":1}}}`,
	} {
		f.Add([]byte(s))
	}
	m := tinyModel(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := protocol.DecodeMessage(b)
		if err != nil {
			return
		}
		c, ok := msg.Body.(*protocol.Call)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done, err := gateway.Call(ctx, m, *c, func(protocol.Payload) error { return nil })
		if err != nil {
			if _, ok := errors.AsType[*rolecall.Error](err); !ok {
				t.Fatalf("%s: error %v is not a rolecall.Error", b, err)
			}
			return
		}
		if done == nil || done.Role != c.Role {
			t.Fatalf("%s: result %+v", b, done)
		}
	})
}
