package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// objectReader reads the first size bytes of an object. It keeps one
// GetObject body open at a time; a Seek only moves the position, and the
// next Read reopens the object at it with a Range request if the open body
// is elsewhere.
type objectReader struct {
	ctx  context.Context
	s    *Store
	key  string
	size int64

	pos     int64
	body    io.ReadCloser // nil, or positioned at bodyPos
	bodyPos int64
}

func (o *objectReader) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		o.closeBody()
		return 0, io.EOF
	}
	if o.body != nil && o.bodyPos != o.pos {
		o.closeBody()
	}
	if o.body == nil {
		if err := o.open(); err != nil {
			return 0, err
		}
	}
	if rest := o.size - o.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos = o.pos
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		o.closeBody()
		if o.pos < o.size {
			return n, fmt.Errorf("s3 blob store: read %s: %w (%w)", o.key, ErrUnavailable, io.ErrUnexpectedEOF)
		}
		return n, nil
	default:
		o.closeBody()
		return n, o.s.wrap(err, "read %s", o.key)
	}
}

func (o *objectReader) open() error {
	if err := o.ctx.Err(); err != nil {
		return err
	}
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket: &o.s.bucket,
		Key:    &o.key,
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", o.pos, o.size-1)),
	})
	if err != nil {
		return o.s.wrap(err, "get %s at %d", o.key, o.pos)
	}
	o.body, o.bodyPos = out.Body, o.pos
	return nil
}

func (o *objectReader) closeBody() {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
}

// Seek sets the position for the next Read without a request.
func (o *objectReader) Seek(offset int64, whence int) (int64, error) {
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = o.pos + offset
	case io.SeekEnd:
		pos = o.size + offset
	default:
		return 0, fmt.Errorf("s3 blob store: seek: invalid whence %d", whence)
	}
	if pos < 0 {
		return 0, fmt.Errorf("s3 blob store: seek: negative position %d", pos)
	}
	o.pos = pos
	return pos, nil
}

func (o *objectReader) Close() error {
	o.closeBody()
	return nil
}

// multiReader concatenates object readers, opening each only when reached.
type multiReader struct {
	rs []*objectReader
}

func (m *multiReader) Read(p []byte) (int, error) {
	for len(m.rs) > 0 {
		n, err := m.rs[0].Read(p)
		if errors.Is(err, io.EOF) {
			m.rs[0].Close()
			m.rs = m.rs[1:]
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
	return 0, io.EOF
}

func (m *multiReader) Close() error {
	for _, r := range m.rs {
		r.Close()
	}
	m.rs = nil
	return nil
}
