package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/streams"
)

// Object is a stored file opened to be served: what it is, and its bytes
// as an io.ReadSeeker for http.ServeContent (Range requests). Close it.
type Object struct {
	Info
	ModTime time.Time
	*objectReader
}

// Open opens tenant's stored file id. Another tenant's file, or one not
// stored (yet), is ErrNotFound.
func (s *Service) Open(ctx context.Context, tenant, id uuid.UUID) (*Object, error) {
	in, o, err := s.info(ctx, tenant, id)
	if errors.Is(err, errNotStored) {
		return nil, domain.Errorf(domain.ErrNotFound, "media not found (or not downloaded yet)")
	}
	if err != nil {
		return nil, err
	}
	return &Object{Info: in, ModTime: o.ModTime,
		objectReader: &objectReader{ctx: ctx, store: s.store, name: streams.MediaObject(tenant.String(), id.String()), size: in.Size}}, nil
}

// objectReader reads an object from wherever it was sought to. The object
// store reads objects from their start, so it opens the object at the first
// Read and skips to the position; a seek forward skips further, one back
// opens it again. (http.ServeContent seeks once per range, in order.)
type objectReader struct {
	ctx   context.Context
	store jetstream.ObjectStore
	name  string
	size  int64

	pos  int64 // of the next Read
	r    jetstream.ObjectResult
	rpos int64 // of r
}

func (o *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, errors.New("media: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("media: seek before the start")
	}
	o.pos = offset
	return offset, nil
}

func (o *objectReader) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.r != nil && o.pos < o.rpos {
		_ = o.r.Close()
		o.r = nil
	}
	if o.r == nil {
		r, err := o.store.Get(o.ctx, o.name)
		if err != nil {
			return 0, fmt.Errorf("media: read %s: %w", o.name, err)
		}
		o.r, o.rpos = r, 0
	}
	if o.pos > o.rpos {
		n, err := io.CopyN(io.Discard, o.r, o.pos-o.rpos)
		o.rpos += n
		if err != nil {
			return 0, fmt.Errorf("media: skip to %d: %w", o.pos, err)
		}
	}
	n, err := o.r.Read(p)
	o.rpos += int64(n)
	o.pos += int64(n)
	return n, err
}

// Close ends the read.
func (o *objectReader) Close() error {
	if o.r == nil {
		return nil
	}
	err := o.r.Close()
	o.r = nil
	return err
}
