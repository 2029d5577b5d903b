// Command gen turns botocore's ECR service model (service-2.json or .json.gz)
// into Go tables for package ecrapi: every operation with its input, output
// and error shapes, every modeled exception, and every shape reachable from
// an operation input with its constraints. The output is deterministic, so
// regenerating from the same model yields the same file.
//
//	go run ./internal/gen -out model_gen.go [-model path/to/service-2.json.gz]
//
// Without -model it asks python3 where botocore is installed.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const modelRelPath = "data/ecr/2015-09-21/service-2.json.gz"

func main() {
	modelPath := flag.String("model", "", "botocore ECR service-2.json(.gz); default: found via python3 -c 'import botocore'")
	out := flag.String("out", "model_gen.go", "output Go file")
	pkg := flag.String("pkg", "ecrapi", "Go package name")
	flag.Parse()
	if err := run(*modelPath, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(modelPath, out, pkg string) error {
	if modelPath == "" {
		p, err := findBotocoreModel()
		if err != nil {
			return err
		}
		modelPath = p
	}
	raw, err := readModel(modelPath)
	if err != nil {
		return err
	}
	src, err := generate(raw, pkg)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// findBotocoreModel locates the ECR model in the installed botocore.
func findBotocoreModel() (string, error) {
	cmd := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))")
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate botocore (pass -model instead): %w", err)
	}
	dir := strings.TrimSpace(string(outb))
	for _, p := range []string{modelRelPath, strings.TrimSuffix(modelRelPath, ".gz")} {
		full := filepath.Join(dir, p)
		if _, err := os.Stat(full); err == nil {
			return full, nil
		}
	}
	return "", fmt.Errorf("no ECR model under %s", dir)
}

// readModel returns the JSON of a model file, gunzipping .gz files.
func readModel(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gunzip model: %w", err)
	}
	defer zr.Close()
	b, err = io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gunzip model: %w", err)
	}
	return b, nil
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type modelFile struct {
	Metadata struct {
		APIVersion   string `json:"apiVersion"`
		Protocol     string `json:"protocol"`
		TargetPrefix string `json:"targetPrefix"`
		UID          string `json:"uid"`
	} `json:"metadata"`
	Operations map[string]struct {
		Name   string     `json:"name"`
		Input  *shapeRef  `json:"input"`
		Output *shapeRef  `json:"output"`
		Errors []shapeRef `json:"errors"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
}

type modelShape struct {
	Type      string         `json:"type"`
	Required  []string       `json:"required"`
	Members   orderedMembers `json:"members"`
	Member    *shapeRef      `json:"member"`
	Key       *shapeRef      `json:"key"`
	Value     *shapeRef      `json:"value"`
	Min       *json.Number   `json:"min"`
	Max       *json.Number   `json:"max"`
	Pattern   *string        `json:"pattern"`
	Enum      []string       `json:"enum"`
	Exception bool           `json:"exception"`
	Fault     bool           `json:"fault"`
}

// orderedMembers keeps structure members in model order, which a Go map
// would lose; validation reports violations in that order.
type orderedMembers struct {
	Names []string
	Refs  map[string]shapeRef
}

func (o *orderedMembers) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("members: want an object, got %v (%v)", t, err)
	}
	o.Refs = map[string]shapeRef{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("members: %w", err)
		}
		name, _ := t.(string)
		var ref shapeRef
		if err := dec.Decode(&ref); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		if _, dup := o.Refs[name]; dup {
			return fmt.Errorf("duplicate member %s", name)
		}
		o.Names = append(o.Names, name)
		o.Refs[name] = ref
	}
	return nil
}

var typeNames = map[string]string{
	"structure": "TypeStructure", "list": "TypeList", "map": "TypeMap", "string": "TypeString",
	"integer": "TypeInteger", "long": "TypeLong", "float": "TypeFloat", "double": "TypeDouble",
	"boolean": "TypeBoolean", "blob": "TypeBlob", "timestamp": "TypeTimestamp",
}

// generate renders the Go tables for a model.
func generate(raw []byte, pkg string) ([]byte, error) {
	var m modelFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	if m.Metadata.Protocol != "json" || m.Metadata.TargetPrefix == "" {
		return nil, fmt.Errorf("model %s is not a JSON-protocol service with a target prefix", m.Metadata.UID)
	}

	opNames := make([]string, 0, len(m.Operations))
	for name := range m.Operations {
		opNames = append(opNames, name)
	}
	sort.Strings(opNames)

	// Shapes reachable from operation inputs, numbered in name order.
	reach := map[string]bool{}
	var walk func(name string) error
	walk = func(name string) error {
		if reach[name] {
			return nil
		}
		s, ok := m.Shapes[name]
		if !ok {
			return fmt.Errorf("shape %s is referenced but not defined", name)
		}
		reach[name] = true
		for _, mn := range s.Members.Names {
			if err := walk(s.Members.Refs[mn].Shape); err != nil {
				return err
			}
		}
		for _, r := range []*shapeRef{s.Member, s.Key, s.Value} {
			if r != nil {
				if err := walk(r.Shape); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, name := range opNames {
		if in := m.Operations[name].Input; in != nil {
			if err := walk(in.Shape); err != nil {
				return nil, fmt.Errorf("operation %s: %w", name, err)
			}
		}
	}
	shapeNames := make([]string, 0, len(reach))
	for name := range reach {
		shapeNames = append(shapeNames, name)
	}
	sort.Strings(shapeNames)
	index := make(map[string]int, len(shapeNames))
	for i, name := range shapeNames {
		index[name] = i
	}
	ref := func(r *shapeRef) string {
		if r == nil {
			return "noShape"
		}
		return strconv.Itoa(index[r.Shape])
	}

	var b bytes.Buffer
	sum := sha256.Sum256(raw)
	fmt.Fprintf(&b, "// Code generated by ecrapi/internal/gen from botocore's %s service-2.json; DO NOT EDIT.\n", m.Metadata.UID)
	fmt.Fprintf(&b, "// Model sha256: %s\n\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	usesRegexp := false
	for _, name := range shapeNames {
		usesRegexp = usesRegexp || m.Shapes[name].Pattern != nil
	}
	if usesRegexp {
		b.WriteString("import \"regexp\"\n\n")
	}
	fmt.Fprintf(&b, "const modelTargetPrefix = %q\n\n", m.Metadata.TargetPrefix)

	b.WriteString("var operationNames = []string{\n")
	for _, name := range opNames {
		fmt.Fprintf(&b, "%q,\n", name)
	}
	b.WriteString("}\n\n")

	b.WriteString("var operations = map[string]*Operation{\n")
	for _, name := range opNames {
		op := m.Operations[name]
		if op.Name != "" && op.Name != name {
			return nil, fmt.Errorf("operation key %s has name %s", name, op.Name)
		}
		in, out := "", ""
		if op.Input != nil {
			in = op.Input.Shape
		}
		if op.Output != nil {
			out = op.Output.Shape
		}
		errs := make([]string, 0, len(op.Errors))
		for _, e := range op.Errors {
			errs = append(errs, strconv.Quote(e.Shape))
		}
		fmt.Fprintf(&b, "%q: {Name: %q, Input: %q, Output: %q, Errors: []string{%s}, input: %s},\n",
			name, name, in, out, strings.Join(errs, ", "), ref(op.Input))
	}
	b.WriteString("}\n\n")

	var excNames []string
	for name, s := range m.Shapes {
		if s.Exception {
			excNames = append(excNames, name)
		}
	}
	sort.Strings(excNames)
	b.WriteString("// exceptions maps each modeled exception to whether it is a fault (HTTP 500).\n")
	b.WriteString("var exceptions = map[string]bool{\n")
	for _, name := range excNames {
		fmt.Fprintf(&b, "%q: %v,\n", name, m.Shapes[name].Fault)
	}
	b.WriteString("}\n\n")

	b.WriteString("var shapes = []shape{\n")
	for i, name := range shapeNames {
		s := m.Shapes[name]
		goType, ok := typeNames[s.Type]
		if !ok {
			return nil, fmt.Errorf("shape %s has unsupported type %q", name, s.Type)
		}
		fields := []string{fmt.Sprintf("Name: %q", name), "Type: " + goType}
		for _, r := range []struct {
			n   *json.Number
			has string
			val string
		}{{s.Min, "HasMin", "Min"}, {s.Max, "HasMax", "Max"}} {
			if r.n == nil {
				continue
			}
			v, err := r.n.Int64()
			if err != nil {
				return nil, fmt.Errorf("shape %s: non-integer %s %s", name, r.val, r.n)
			}
			fields = append(fields, r.has+": true", fmt.Sprintf("%s: %d", r.val, v))
		}
		if s.Pattern != nil {
			anchored := "^(?:" + *s.Pattern + ")$"
			if _, err := regexp.Compile(anchored); err != nil {
				return nil, fmt.Errorf("shape %s: pattern %q is not valid Go regexp syntax: %w", name, *s.Pattern, err)
			}
			fields = append(fields, "Pattern: regexp.MustCompile("+goString(anchored)+")",
				"PatternSource: "+goString(*s.Pattern))
		}
		if len(s.Enum) > 0 {
			q := make([]string, len(s.Enum))
			for j, e := range s.Enum {
				q[j] = strconv.Quote(e)
			}
			fields = append(fields, "Enum: []string{"+strings.Join(q, ", ")+"}")
		}
		if s.Type == "structure" {
			for _, req := range s.Required {
				if !slices.Contains(s.Members.Names, req) {
					return nil, fmt.Errorf("shape %s requires unknown member %s", name, req)
				}
			}
			var ms []string
			for _, mn := range s.Members.Names {
				r := s.Members.Refs[mn]
				ms = append(ms, fmt.Sprintf("{Name: %q, Shape: %s, Required: %v}", mn, ref(&r), slices.Contains(s.Required, mn)))
			}
			fields = append(fields, "Members: []member{"+strings.Join(ms, ", ")+"}")
		}
		switch s.Type {
		case "list":
			if s.Member == nil {
				return nil, fmt.Errorf("list shape %s has no member", name)
			}
			fields = append(fields, "Elem: "+ref(s.Member), "Key: noShape")
		case "map":
			if s.Key == nil || s.Value == nil {
				return nil, fmt.Errorf("map shape %s lacks key or value", name)
			}
			fields = append(fields, "Elem: "+ref(s.Value), "Key: "+ref(s.Key))
		default:
			fields = append(fields, "Elem: noShape", "Key: noShape")
		}
		fmt.Fprintf(&b, "%d: {%s},\n", i, strings.Join(fields, ", "))
	}
	b.WriteString("}\n")

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, errors.Join(errors.New("format generated source"), err)
	}
	return src, nil
}

// goString quotes s as a raw string literal when it can, for readable regexps.
func goString(s string) string {
	if !strings.ContainsAny(s, "`\r") && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
