package proxy

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"strings"
)

// requestModel returns the model a request body names: the "model" field of
// a JSON body or of a multipart form (image edits); "" when there is none.
func requestModel(contentType string, body []byte) string {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "multipart/form-data":
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := r.NextPart()
			if err != nil {
				return ""
			}
			if p.FormName() == "model" {
				var b strings.Builder
				buf := make([]byte, 256)
				for b.Len() < 256 {
					n, err := p.Read(buf)
					b.Write(buf[:n])
					if err != nil {
						break
					}
				}
				return strings.TrimSpace(b.String())
			}
		}
	default:
		var v struct {
			Model string `json:"model"`
		}
		json.Unmarshal(body, &v)
		return v.Model
	}
}
