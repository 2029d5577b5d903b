// Repository creation template queries (meta.TemplateQueries).

package sqlite

import (
	"context"
	"fmt"

	"github.com/berth-registry/berth/internal/meta"
)

const (
	sqlCreateTemplate = `INSERT INTO repository_creation_templates (prefix, document, created_at, updated_at)
		VALUES ($1, $2, $3, $4)`
	sqlGetTemplate = `SELECT prefix, document, created_at, updated_at FROM repository_creation_templates
		WHERE prefix = $1`
	sqlUpdateTemplate = `UPDATE repository_creation_templates SET document = $2, updated_at = $3
		WHERE prefix = $1`
	sqlDeleteTemplate = `DELETE FROM repository_creation_templates WHERE prefix = $1`
	sqlListTemplates  = `SELECT prefix, document, created_at, updated_at FROM repository_creation_templates
		WHERE prefix > $1 ORDER BY prefix LIMIT $2`
)

func scanTemplate(s scanner) (*meta.CreationTemplate, error) {
	var t meta.CreationTemplate
	var created, updated int64
	if err := s.Scan(&t.Prefix, &t.Document, &created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &t, nil
}

func (g gcq) CreateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	if _, err := g.exec(ctx, sqlCreateTemplate, t.Prefix, nonNilBytes(t.Document), nanos(t.CreatedAt), nanos(t.UpdatedAt)); err != nil {
		return fmt.Errorf("create creation template %s: %w", t.Prefix, err)
	}
	return nil
}

func (g gcq) GetCreationTemplate(ctx context.Context, prefix string) (*meta.CreationTemplate, error) {
	row := g.row(ctx, sqlGetTemplate, prefix)
	t, err := scanTemplate(row)
	if err != nil {
		return nil, fmt.Errorf("get creation template %s: %w", prefix, classify(err))
	}
	return t, nil
}

func (g gcq) UpdateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	if err := g.execOne(ctx, sqlUpdateTemplate, t.Prefix, nonNilBytes(t.Document), nanos(t.UpdatedAt)); err != nil {
		return fmt.Errorf("update creation template %s: %w", t.Prefix, err)
	}
	return nil
}

func (g gcq) DeleteCreationTemplate(ctx context.Context, prefix string) error {
	if err := g.execOne(ctx, sqlDeleteTemplate, prefix); err != nil {
		return fmt.Errorf("delete creation template %s: %w", prefix, err)
	}
	return nil
}

func (g gcq) ListCreationTemplates(ctx context.Context, after string, limit int) ([]meta.CreationTemplate, error) {
	rows, err := g.rows(ctx, sqlListTemplates, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list creation templates: %w", err)
	}
	defer rows.Close()
	var out []meta.CreationTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("list creation templates: %w", err)
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list creation templates: %w", classify(err))
	}
	return out, nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (q *querier) CreateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	return q.gcq().CreateCreationTemplate(ctx, t)
}

func (q *querier) GetCreationTemplate(ctx context.Context, prefix string) (*meta.CreationTemplate, error) {
	return q.gcq().GetCreationTemplate(ctx, prefix)
}

func (q *querier) UpdateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	return q.gcq().UpdateCreationTemplate(ctx, t)
}

func (q *querier) DeleteCreationTemplate(ctx context.Context, prefix string) error {
	return q.gcq().DeleteCreationTemplate(ctx, prefix)
}

func (q *querier) ListCreationTemplates(ctx context.Context, after string, limit int) ([]meta.CreationTemplate, error) {
	return q.gcq().ListCreationTemplates(ctx, after, limit)
}

func (s *Store) CreateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	return s.write(ctx, func(q *querier) error { return q.CreateCreationTemplate(ctx, t) })
}

func (s *Store) GetCreationTemplate(ctx context.Context, prefix string) (*meta.CreationTemplate, error) {
	return s.gcRead().GetCreationTemplate(ctx, prefix)
}

func (s *Store) UpdateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	return s.write(ctx, func(q *querier) error { return q.UpdateCreationTemplate(ctx, t) })
}

func (s *Store) DeleteCreationTemplate(ctx context.Context, prefix string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteCreationTemplate(ctx, prefix) })
}

func (s *Store) ListCreationTemplates(ctx context.Context, after string, limit int) ([]meta.CreationTemplate, error) {
	return s.gcRead().ListCreationTemplates(ctx, after, limit)
}
