package mcpserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Shared argument options: every tool that takes a session name takes it
// the same way, described the same way.

func nameArg(desc string) mcp.ToolOption {
	return mcp.WithString("name", mcp.Required(), mcp.Description(desc),
		mcp.Pattern(`^[a-z0-9][a-z0-9-]{0,39}$`), mcp.MaxLength(40))
}

func cursorArg() mcp.ToolOption {
	return mcp.WithString("cursor", mcp.MaxLength(200),
		mcp.Description("Where to continue: the next_cursor of the previous answer. Leave out to start at the beginning."))
}

func maxBytesArg(def, maxN int) mcp.ToolOption {
	return mcp.WithInteger("max_bytes", mcp.Min(1024), mcp.Max(maxN), mcp.DefaultNumber(def),
		mcp.Description(fmt.Sprintf("At most this many bytes of text in this answer (default %d, at most %d); the rest comes with next_cursor.", def, maxN)))
}

// annotations sets the four hints every tool declares.
func annotations(title string, readOnly, destructive, idempotent, openWorld bool) mcp.ToolOption {
	return mcp.WithToolAnnotation(mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    &readOnly,
		DestructiveHint: &destructive,
		IdempotentHint:  &idempotent,
		OpenWorldHint:   &openWorld,
	})
}

// bind decodes a call's arguments into v strictly: an unknown field or a
// wrong type is an input error naming it, even where the client skipped
// the schema.
func bind(req mcp.CallToolRequest, v any) error {
	raw, err := rawArguments(req)
	if err != nil {
		return inputErr("the arguments are not JSON: %v", err)
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asType(err, &te); ok && te.Field != "" {
			return inputErr("argument %q must be %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return inputErr("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64":
		return "an integer"
	case "slice":
		return "an array"
	case "ptr":
		return "a boolean"
	}
	return "a " + goKind
}

// A cursor is opaque to the caller: the session it pages and an offset.
func encodeCursor(name string, off int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name + ":" + strconv.FormatInt(off, 10)))
}

func decodeCursor(cursor, name string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	n, o, ok := strings.Cut(string(b), ":")
	off, perr := strconv.ParseInt(o, 10, 64)
	if err != nil || !ok || perr != nil || off < 0 {
		return 0, inputErr("cursor %q is not one this server gave out: pass the next_cursor of the previous answer unchanged, or leave it out to start over", cursor)
	}
	if n != name {
		return 0, inputErr("this cursor pages session %q, not %q", n, name)
	}
	return off, nil
}
