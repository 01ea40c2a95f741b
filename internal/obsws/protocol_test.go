package obsws

import (
	"errors"
	"strings"
	"testing"
)

// The salt and challenge of the specification's example; the answer was
// computed apart, with openssl's sha256 and base64.
func TestAuthAnswersTheChallenge(t *testing.T) {
	a := Auth{Challenge: "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=", Salt: "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI="}
	pw := "supersecretpassword"
	const want = "1Ct943GAT+6YQUUX47Ia/ncufilbe6+oD6lY+5kaCu4="
	if got := AuthString(pw, a); got != want {
		t.Fatalf("auth string %s, want %s", got, want)
	}
	if !CheckAuth(pw, a, want) || CheckAuth("wrong", a, want) {
		t.Fatal("CheckAuth does not tell the right password from a wrong one")
	}
	if CheckAuth(pw, a, "") {
		t.Fatal("an empty answer passes")
	}
}

func TestDecodeGivesTheProtocolsCloseCodes(t *testing.T) {
	cases := []struct {
		msg  string
		code CloseCode
	}{
		{`{"op":`, CloseMessageDecodeError},
		{`[1,2]`, CloseMessageDecodeError},
		{`{"d":{}}`, CloseMissingDataField},
		{`{"op":"six","d":{}}`, CloseInvalidDataFieldType},
		{`{"op":42,"d":{}}`, CloseUnknownOpCode},
		{`{"op":0,"d":{}}`, CloseUnknownOpCode},
		{`{"op":6}`, CloseMissingDataField},
		{`{"op":6,"d":{"requestType":"GetVersion"}}`, CloseMissingDataField},
		{`{"op":6,"d":{"requestType":7,"requestId":"a"}}`, CloseInvalidDataFieldType},
		{`{"op":1,"d":{"rpcVersion":1,"eventSubscriptions":-1}}`, CloseInvalidDataFieldType},
	}
	for _, c := range cases {
		_, _, err := Decode([]byte(c.msg))
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != c.code {
			t.Errorf("%s: got %v, want close code %d", c.msg, err, c.code)
		}
	}
	op, v, err := Decode([]byte(`{"op":6,"d":{"requestType":"GetVersion","requestId":"x","requestData":{"a":1}}}`))
	if err != nil || op != OpRequest || v.(*Request).RequestType != "GetVersion" || !strings.Contains(string(v.(*Request).RequestData), `"a"`) {
		t.Fatalf("a good request: %v %v %v", op, v, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"op":1,"d":{"rpcVersion":1,"authentication":"x","eventSubscriptions":33}}`,
		`{"op":3,"d":{"eventSubscriptions":65536}}`,
		`{"op":6,"d":{"requestType":"SetInputMute","requestId":"1","requestData":{"inputName":"mic","inputMuted":true}}}`,
		`{"op":8,"d":{"requestId":"b","requests":[{"requestType":"GetVersion"}]}}`,
		`{"op":6,"d":null}`, `null`, `{}`, `{"op":1e99}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		op, v, err := Decode(data)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code < 4000 || pe.Code > 4012 {
				t.Fatalf("error without a close code: %v", err)
			}
			return
		}
		if v == nil {
			t.Fatalf("op %d decoded to nothing", op)
		}
		if _, err := Encode(op, v); err != nil {
			t.Fatalf("a decoded message does not encode: %v", err)
		}
	})
}
