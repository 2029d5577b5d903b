package s3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berth-registry/berth/internal/blob"
	"strconv"
	"strings"
)

// stateVersion is written into every state so a later format can tell.
const stateVersion = 1

// maxStateLen bounds the state accepted from the metadata store; a full
// state (maxParts parts, maxTails tails) is well under it.
const maxStateLen = 1 << 20

// maxObjectSize is S3's limit on one PutObject, and so on one staged object.
const maxObjectSize = 5 << 30

// uploadState is an upload's backend state: the staged objects whose
// concatenation is the upload's bytes, parts first, then the pending tail.
type uploadState struct {
	V     int      `json:"v"`
	Parts []staged `json:"parts,omitempty"`
	Tail  []staged `json:"tail,omitempty"`
}

// staged is one staged object, named relative to the upload's directory.
type staged struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func (st *uploadState) partsSize() int64 { return sumSizes(st.Parts) }
func (st *uploadState) tailSize() int64  { return sumSizes(st.Tail) }
func (st *uploadState) size() int64      { return st.partsSize() + st.tailSize() }

func sumSizes(objs []staged) int64 {
	var n int64
	for _, o := range objs {
		n += o.Size
	}
	return n
}

func (st *uploadState) clone() *uploadState {
	return &uploadState{
		V:     st.V,
		Parts: append([]staged(nil), st.Parts...),
		Tail:  append([]staged(nil), st.Tail...),
	}
}

func (st *uploadState) marshal() ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: encode upload state: %w", err)
	}
	return b, nil
}

// errNoState reports an upload this store never started.
var errNoState = errors.New("no upload state")

// parseState decodes and checks a state from the metadata store. It trusts
// nothing: names must be ones this package generates and sizes must add up
// without overflow, so a corrupt state fails here rather than naming keys
// outside the upload or sizing a buffer.
func parseState(b []byte) (*uploadState, error) {
	if len(b) == 0 {
		return nil, errNoState
	}
	if len(b) > maxStateLen {
		return nil, fmt.Errorf("upload state of %d bytes exceeds %d", len(b), maxStateLen)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var st uploadState
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("decode upload state: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode upload state: trailing data")
	}
	if st.V != stateVersion {
		return nil, fmt.Errorf("upload state version %d, want %d", st.V, stateVersion)
	}
	if len(st.Parts) > maxParts-1 {
		return nil, fmt.Errorf("upload state has %d parts, more than %d", len(st.Parts), maxParts-1)
	}
	if len(st.Tail) > maxTails {
		return nil, fmt.Errorf("upload state has %d tail objects, more than %d", len(st.Tail), maxTails)
	}
	var total int64
	for i, list := range [][]staged{st.Parts, st.Tail} {
		kind := [...]string{"part", "tail"}[i]
		for _, o := range list {
			if !validStagedName(o.Name, kind) {
				return nil, fmt.Errorf("upload state: invalid %s name %.80q", kind, o.Name)
			}
			if o.Size <= 0 || o.Size > maxObjectSize {
				return nil, fmt.Errorf("upload state: %s %s has size %d", kind, o.Name, o.Size)
			}
			total += o.Size // cannot overflow: at most 10064 sizes of at most 5 GiB
		}
	}
	// The tail is always smaller than a part, so it fits in a part buffer.
	if st.tailSize() >= MinPartSize {
		return nil, fmt.Errorf("upload state: tail of %d bytes is not below %d", st.tailSize(), MinPartSize)
	}
	return &st, nil
}

// stagedName names a staged object: kind-<offset>-<16 hex nonce>.
func stagedName(kind string, offset int64, nonce string) string {
	return kind + "-" + strconv.FormatInt(offset, 10) + "-" + nonce
}

func validStagedName(name, kind string) bool {
	rest, ok := strings.CutPrefix(name, kind+"-")
	if !ok {
		return false
	}
	off, nonce, ok := strings.Cut(rest, "-")
	if !ok || len(nonce) != 16 || !blob.IsLowerHex(nonce) || off == "" || len(off) > 19 {
		return false
	}
	for i := 0; i < len(off); i++ {
		if off[i] < '0' || off[i] > '9' {
			return false
		}
	}
	return true
}

// writeAction is what WriteUpload does with the bytes of one buffer fill.
type writeAction int

const (
	// actNone: nothing new to store.
	actNone writeAction = iota
	// actPart: store the pending tail plus the new bytes as one part.
	actPart
	// actTail: store the new bytes as one more tail object.
	actTail
	// actCompact: store the pending tail plus the new bytes as one tail
	// object replacing the others.
	actCompact
)

func (a writeAction) String() string {
	return [...]string{"none", "part", "tail", "compact"}[a]
}

// planWrite decides what to do after reading n new bytes behind a pending
// tail of pending bytes in tails objects. eof reports that the chunk ended.
// A part needs minPart bytes; until the chunk ends, a full buffer always has
// them (the caller's buffer exceeds minPart).
func planWrite(pending int64, tails int, n int64, eof bool, minPart int64, maxTails int) writeAction {
	switch {
	case pending+n >= minPart:
		return actPart
	case n == 0:
		return actNone
	case !eof:
		// A short buffer fill that is not the end cannot happen with
		// io.ReadFull; treat it as a part to stay correct regardless.
		return actPart
	case tails+1 > maxTails:
		return actCompact
	default:
		return actTail
	}
}

// commitKind is how CommitUpload builds the final object.
type commitKind int

const (
	// commitPut: PutObject of the (at most minPart) bytes read from tail
	// objects; also the empty blob.
	commitPut commitKind = iota
	// commitCopy: CopyObject of the one staged object that holds every byte.
	commitCopy
	// commitMultipart: a multipart upload of UploadPartCopy'd parts, the
	// tail (if any) as the last part.
	commitMultipart
)

func (k commitKind) String() string { return [...]string{"put", "copy", "multipart"}[k] }

// span is the first Length bytes of staged object Name.
type span struct {
	Name   string
	Length int64
	Whole  bool // Length is the object's whole size
}

// commitPlan says how to build the final object from the staged objects.
type commitPlan struct {
	Kind  commitKind
	Parts []span // staged parts to copy as parts, in order
	Tail  []span // tail objects whose bytes come last
}

// planCommit maps an upload's first size bytes onto the cheapest S3
// operations that build the final object from them.
func planCommit(st *uploadState, size int64) (commitPlan, error) {
	if size < 0 {
		return commitPlan{}, fmt.Errorf("negative size %d", size)
	}
	if have := st.size(); size > have {
		return commitPlan{}, fmt.Errorf("upload holds %d bytes, want %d", have, size)
	}
	var p commitPlan
	rest := size
	take := func(objs []staged) []span {
		var out []span
		for _, o := range objs {
			if rest == 0 {
				break
			}
			n := min(o.Size, rest)
			out = append(out, span{Name: o.Name, Length: n, Whole: n == o.Size})
			rest -= n
		}
		return out
	}
	p.Parts = take(st.Parts)
	p.Tail = take(st.Tail)
	switch {
	case len(p.Parts) == 1 && len(p.Tail) == 0 && p.Parts[0].Whole,
		len(p.Parts) == 0 && len(p.Tail) == 1 && p.Tail[0].Whole:
		p.Kind = commitCopy
	case len(p.Parts) == 0:
		p.Kind = commitPut
	default:
		p.Kind = commitMultipart
	}
	return p, nil
}
