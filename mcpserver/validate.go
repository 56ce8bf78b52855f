package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// inputSchema checks a tool's arguments against its declared input schema.
// It is ours rather than mcp-go's WithInputSchemaValidation so that its
// errors stay short: a huge argument is never echoed back.
type inputSchema struct{ sch *jsonschema.Schema }

func compileInput(t mcp.Tool) (*inputSchema, error) {
	b, err := json.Marshal(t.InputSchema)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	url := "mem://" + t.Name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	return &inputSchema{sch: sch}, nil
}

// check validates the raw arguments (nil: none).
func (s *inputSchema) check(raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = []byte("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return inputErr("the arguments are not JSON: %v", err)
	}
	err = s.sch.Validate(v)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var msgs []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil || len(msgs) == 5 {
			continue
		}
		where := strings.TrimPrefix(u.InstanceLocation, "/")
		if where == "" {
			where = "arguments"
		} else {
			where = "argument " + cutText(where, 60)
		}
		msgs = append(msgs, where+": "+cutText(u.Error.String(), 160))
	}
	if len(msgs) == 0 {
		msgs = append(msgs, cutText(ve.Error(), 300))
	}
	return inputErr("%s", strings.Join(msgs, "; "))
}

// cutText shortens s to n bytes on a character boundary, saying so.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + fmt.Sprintf("…(%d bytes cut)", len(s)-n)
}

// rawArguments is a call's arguments as JSON.
func rawArguments(req mcp.CallToolRequest) ([]byte, error) {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments, nil
	}
	if req.Params.Arguments == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(req.Params.Arguments)
}
