module github.com/twig-project/twig

go 1.26.0

require (
	github.com/syumai/workers v0.33.0
	golang.org/x/image v0.48.0
)

require (
	github.com/chewxy/math32 v1.10.1 // indirect
	github.com/gorilla/websocket v1.5.3
	github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c // indirect
	github.com/tetratelabs/wazero v1.12.0
	github.com/viterin/partial v1.1.0 // indirect
	github.com/viterin/vek v0.4.3 // indirect
	golang.org/x/exp v0.0.0-20230817173708-d852ddb80c63 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
