package gateway

import "errors"

// Transport is one client connection as the gateway sees it: whole messages
// in, whole messages out, and a close with a WebSocket close code.
//
// ReadMessage is called from one goroutine and WriteMessage from one
// goroutine (they may be different); Close may be called from any goroutine,
// any number of times, and must make a blocked ReadMessage return soon.
type Transport interface {
	// ReadMessage returns the next whole message. A message over the
	// transport's size limit returns ErrMessageTooLarge and the transport
	// stays usable; any other error ends the connection.
	ReadMessage() ([]byte, error)
	// WriteMessage sends one whole text message, giving up after the
	// transport's write timeout. data is the caller's again once it
	// returns (the gateway reuses its buffers): keep a copy, not data.
	WriteMessage(data []byte) error
	// Close sends a close frame with code and reason (≤ 123 bytes) if it
	// can, then ends the connection.
	Close(code int, reason string) error
}

// ErrMessageTooLarge is returned by a Transport's ReadMessage for a message
// over its size limit; the message was discarded and the next can be read.
var ErrMessageTooLarge = errors.New("edge: message over the size limit")

// BatchTransport is a Transport that can send several whole messages in one
// write to its socket. The gateway's writer hands it every message that
// piled up while it was writing, so a burst of events (a thought's tokens,
// a band's rows) costs one system call, not one each. Transports without it
// get one WriteMessage a message.
type BatchTransport interface {
	Transport
	// WriteMessages sends each message of msgs, in order, as one text
	// message, giving up after the transport's write timeout; like
	// WriteMessage's, the buffers are the caller's again once it returns.
	WriteMessages(msgs [][]byte) error
}
