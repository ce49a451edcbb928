package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// decodeBody reads a JSON request body into v strictly: at most maxBody
// bytes, no unknown fields, one value and nothing after it. An empty body
// is allowed only when emptyOK.
func decodeBody(r *http.Request, maxBody int64, v any, emptyOK bool) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return BadRequest("read request body: %v", err)
	}
	if int64(len(body)) > maxBody {
		return Errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			"request body is larger than the limit of %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return Errorf(http.StatusBadRequest, CodeBadJSON, "request body is empty; expected a JSON object with fields %s", jsonFields(v))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, CodeBadJSON, "request body has data after its JSON object")
	}
	return nil
}

// bodyError says what is wrong with a JSON body in terms of its fields.
func bodyError(err error, v any) error {
	var (
		apiErr  *Error
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &syntax):
		return Errorf(http.StatusBadRequest, CodeBadJSON, "request body is not valid JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, CodeBadJSON, "request body must be a JSON object with fields %s, not a JSON %s", jsonFields(v), typeErr.Value)
		}
		return Errorf(http.StatusBadRequest, CodeBadJSON, "field %q must be a %s, not a JSON %s", field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, CodeBadJSON, "request body is truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return Errorf(http.StatusBadRequest, CodeUnknownField, "unknown field %s in request body; known fields: %s", name, jsonFields(v))
	}
	return Errorf(http.StatusBadRequest, CodeBadJSON, "bad JSON request body: %v", err)
}

// jsonFields lists the JSON field names of the struct v points to.
func jsonFields(v any) string {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return "(none)"
	}
	var names []string
	for f := range t.Elem().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, strconv.Quote(name))
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
