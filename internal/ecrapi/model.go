// Package ecrapi is the adapter for the ECR JSON 1.1 API: it parses the
// X-Amz-Target, authenticates, decodes and validates the body against the ECR
// model, calls a registered operation handler and encodes its result or error
// the way AWS does.
package ecrapi

import "regexp"

//go:generate go run ./internal/gen -out model_gen.go

// TargetPrefix is the X-Amz-Target prefix of every ECR operation.
const TargetPrefix = modelTargetPrefix

// ShapeType is a botocore shape type.
type ShapeType uint8

const (
	TypeStructure ShapeType = iota + 1
	TypeList
	TypeMap
	TypeString
	TypeInteger
	TypeLong
	TypeFloat
	TypeDouble
	TypeBoolean
	TypeBlob
	TypeTimestamp
)

// shapeRef indexes shapes; noShape means none.
type shapeRef int

const noShape shapeRef = -1

// shape is one input shape of the model with its constraints. Ranges apply to
// the value of numbers and to the length of strings (UTF-16 units, as AWS's
// Java services count), lists, maps and blobs (decoded bytes).
type shape struct {
	Name           string
	Type           ShapeType
	HasMin, HasMax bool
	Min, Max       int64
	// Pattern is the model's pattern anchored at both ends (AWS services
	// match the whole value), compiled once at package init.
	Pattern       *regexp.Regexp
	PatternSource string // as written in the model, for messages
	Enum          []string
	Members       []member // structure members in model order
	Elem          shapeRef // list member or map value
	Key           shapeRef // map key
}

type member struct {
	Name     string
	Shape    shapeRef
	Required bool
}

// Operation describes one ECR operation of the model.
type Operation struct {
	Name   string
	Input  string // input shape name
	Output string // output shape name
	// Errors are the exception names the model lists for the operation.
	Errors []string
	input  shapeRef
}

// LookupOperation returns the model's operation named name.
func LookupOperation(name string) (*Operation, bool) {
	op, ok := operations[name]
	return op, ok
}

// Operations returns the names of all operations of the model, sorted.
func Operations() []string {
	return append([]string(nil), operationNames...)
}

// ExceptionStatus returns the HTTP status AWS uses for a modeled exception
// (500 for faults such as ServerException, 400 otherwise) and whether code
// is a modeled exception at all.
func ExceptionStatus(code string) (int, bool) {
	fault, ok := exceptions[code]
	if !ok {
		return 0, false
	}
	if fault {
		return 500, true
	}
	return 400, true
}
