// Package obsws is the obs-websocket v5 protocol's wire format: its message
// envelope and op codes, the close codes, request statuses and event
// subscription bits, and its challenge/salt authentication, as the
// protocol's published specification (rpcVersion 1) defines them. It holds
// no studio logic: internal/obsserver maps requests onto the Control API.
package obsws

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// RPCVersion is the only protocol revision there is.
const RPCVersion = 1

// OpCode is a message's kind ("op").
type OpCode int

const (
	OpHello                OpCode = 0
	OpIdentify             OpCode = 1
	OpIdentified           OpCode = 2
	OpReidentify           OpCode = 3
	OpEvent                OpCode = 5
	OpRequest              OpCode = 6
	OpRequestResponse      OpCode = 7
	OpRequestBatch         OpCode = 8
	OpRequestBatchResponse OpCode = 9
)

// CloseCode is the WebSocket close code the server ends a session with.
type CloseCode int

const (
	CloseUnknownReason         CloseCode = 4000
	CloseMessageDecodeError    CloseCode = 4002
	CloseMissingDataField      CloseCode = 4003
	CloseInvalidDataFieldType  CloseCode = 4004
	CloseInvalidDataFieldValue CloseCode = 4005
	CloseUnknownOpCode         CloseCode = 4006
	CloseNotIdentified         CloseCode = 4007
	CloseAlreadyIdentified     CloseCode = 4008
	CloseAuthenticationFailed  CloseCode = 4009
	CloseUnsupportedRPCVersion CloseCode = 4010
	CloseSessionInvalidated    CloseCode = 4011
	CloseUnsupportedFeature    CloseCode = 4012
)

// Status is a request's result code.
type Status int

const (
	StatusSuccess                 Status = 100
	StatusMissingRequestType      Status = 203
	StatusUnknownRequestType      Status = 204
	StatusGenericError            Status = 205
	StatusNotReady                Status = 207
	StatusMissingRequestField     Status = 300
	StatusInvalidRequestField     Status = 400
	StatusInvalidRequestFieldType Status = 401
	StatusRequestFieldOutOfRange  Status = 402
	StatusRequestFieldEmpty       Status = 403
	StatusTooManyRequestFields    Status = 404
	StatusOutputRunning           Status = 500
	StatusOutputNotRunning        Status = 501
	StatusOutputDisabled          Status = 504
	StatusStudioModeNotActive     Status = 506
	StatusResourceNotFound        Status = 600
	StatusInvalidResourceState    Status = 604
	StatusRequestProcessingFailed Status = 702
)

// Subscription is a bit of the event subscription mask a client sends.
type Subscription int

const (
	SubGeneral     Subscription = 1 << 0
	SubConfig      Subscription = 1 << 1
	SubScenes      Subscription = 1 << 2
	SubInputs      Subscription = 1 << 3
	SubTransitions Subscription = 1 << 4
	SubFilters     Subscription = 1 << 5
	SubOutputs     Subscription = 1 << 6
	SubSceneItems  Subscription = 1 << 7
	SubMediaInputs Subscription = 1 << 8
	SubVendors     Subscription = 1 << 9
	SubUI          Subscription = 1 << 10
	// SubAll is every category that is not high-volume: the default when a
	// client names none.
	SubAll Subscription = 1<<11 - 1
	// SubInputVolumeMeters is high-volume: only when asked for by name.
	SubInputVolumeMeters Subscription = 1 << 16
)

// Events and the subscription each belongs to.
var Events = map[string]Subscription{
	"ExitStarted":                SubGeneral,
	"CurrentProgramSceneChanged": SubScenes,
	"InputMuteStateChanged":      SubInputs,
	"InputVolumeChanged":         SubInputs,
	"StreamStateChanged":         SubOutputs,
	"RecordStateChanged":         SubOutputs,
	"InputVolumeMeters":          SubInputVolumeMeters,
}

// Output states in StreamStateChanged and RecordStateChanged.
const (
	OutputStarting = "OBS_WEBSOCKET_OUTPUT_STARTING"
	OutputStarted  = "OBS_WEBSOCKET_OUTPUT_STARTED"
	OutputStopping = "OBS_WEBSOCKET_OUTPUT_STOPPING"
	OutputStopped  = "OBS_WEBSOCKET_OUTPUT_STOPPED"
)

// Message is the envelope of every message.
type Message struct {
	Op OpCode          `json:"op"`
	D  json.RawMessage `json:"d"`
}

// Hello is the server's first message.
type Hello struct {
	ObsWebSocketVersion string `json:"obsWebSocketVersion"`
	RPCVersion          int    `json:"rpcVersion"`
	Authentication      *Auth  `json:"authentication,omitempty"`
}

// Auth is the challenge and salt a client hashes its password with.
type Auth struct {
	Challenge string `json:"challenge"`
	Salt      string `json:"salt"`
}

// Identify is the client's answer to Hello.
type Identify struct {
	RPCVersion         int     `json:"rpcVersion"`
	Authentication     string  `json:"authentication"`
	EventSubscriptions *uint32 `json:"eventSubscriptions"`
}

// Identified confirms a session.
type Identified struct {
	NegotiatedRPCVersion int `json:"negotiatedRpcVersion"`
}

// Reidentify changes an identified session's subscriptions.
type Reidentify struct {
	EventSubscriptions *uint32 `json:"eventSubscriptions"`
}

// Event is something that happened.
type Event struct {
	EventType   string       `json:"eventType"`
	EventIntent Subscription `json:"eventIntent"`
	EventData   any          `json:"eventData,omitempty"`
}

// Request asks for something; RequestData is kept raw for the handler.
type Request struct {
	RequestType string          `json:"requestType"`
	RequestID   string          `json:"requestId"`
	RequestData json.RawMessage `json:"requestData,omitempty"`
}

// RequestStatus is a request's outcome.
type RequestStatus struct {
	Result  bool   `json:"result"`
	Code    Status `json:"code"`
	Comment string `json:"comment,omitempty"`
}

// RequestResponse answers one Request.
type RequestResponse struct {
	RequestType   string        `json:"requestType"`
	RequestID     string        `json:"requestId"`
	RequestStatus RequestStatus `json:"requestStatus"`
	ResponseData  any           `json:"responseData,omitempty"`
}

// RequestBatch is several requests in one message.
type RequestBatch struct {
	RequestID     string    `json:"requestId"`
	HaltOnFailure bool      `json:"haltOnFailure"`
	ExecutionType *int      `json:"executionType"`
	Requests      []Request `json:"requests"`
}

// RequestBatchResponse answers a RequestBatch.
type RequestBatchResponse struct {
	RequestID string            `json:"requestId"`
	Results   []RequestResponse `json:"results"`
}

// ProtocolError is a message the server must end the session for, with the
// close code the protocol gives for it.
type ProtocolError struct {
	Code CloseCode
	Msg  string
}

func (e *ProtocolError) Error() string { return e.Msg }

func protocolErr(code CloseCode, format string, a ...any) error {
	return &ProtocolError{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Decode reads one client message: its op code and its data, decoded into
// the op's type (*Identify, *Reidentify, *Request or *RequestBatch). A
// message that is not JSON, not an object, has an unknown op or lacks a
// field the protocol requires is a *ProtocolError with its close code.
func Decode(data []byte) (OpCode, any, error) {
	var m struct {
		Op *json.RawMessage `json:"op"`
		D  json.RawMessage  `json:"d"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return 0, nil, protocolErr(CloseMessageDecodeError, "message is not a JSON object: %v", err)
	}
	if m.Op == nil {
		return 0, nil, protocolErr(CloseMissingDataField, "message has no op")
	}
	var op OpCode
	if err := json.Unmarshal(*m.Op, &op); err != nil {
		return 0, nil, protocolErr(CloseInvalidDataFieldType, "op %s is not a whole number", *m.Op)
	}
	var v any
	switch op {
	case OpIdentify:
		v = &Identify{}
	case OpReidentify:
		v = &Reidentify{}
	case OpRequest:
		v = &Request{}
	case OpRequestBatch:
		v = &RequestBatch{}
	default:
		return op, nil, protocolErr(CloseUnknownOpCode, "op %d is not one a client sends", op)
	}
	if len(bytes.TrimSpace(m.D)) == 0 || bytes.Equal(bytes.TrimSpace(m.D), []byte("null")) {
		return op, nil, protocolErr(CloseMissingDataField, "op %d message has no d", op)
	}
	if err := json.Unmarshal(m.D, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return op, nil, protocolErr(CloseInvalidDataFieldType, "op %d: field %s: want %s, got %s", op, te.Field, te.Type, te.Value)
		}
		return op, nil, protocolErr(CloseMessageDecodeError, "op %d: d is not a JSON object: %v", op, err)
	}
	switch d := v.(type) {
	case *Request:
		if d.RequestID == "" {
			return op, nil, protocolErr(CloseMissingDataField, "request has no requestId")
		}
	case *RequestBatch:
		if d.RequestID == "" {
			return op, nil, protocolErr(CloseMissingDataField, "request batch has no requestId")
		}
	}
	return op, v, nil
}

// Encode wraps d in the envelope for op.
func Encode(op OpCode, d any) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Message{Op: op, D: raw})
}

// Secret is what the protocol derives from the password and salt; a server
// may keep it instead of the password.
func Secret(password, salt string) string {
	h := sha256.Sum256([]byte(password + salt))
	return base64.StdEncoding.EncodeToString(h[:])
}

// AuthString is what a client with the password sends for this challenge.
func AuthString(password string, a Auth) string {
	h := sha256.Sum256([]byte(Secret(password, a.Salt) + a.Challenge))
	return base64.StdEncoding.EncodeToString(h[:])
}

// CheckAuth reports whether got is the right answer to the challenge, in
// constant time.
func CheckAuth(password string, a Auth, got string) bool {
	want := AuthString(password, a)
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
