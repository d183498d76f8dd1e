-- Credit groups: each member beside its group (after cover_views: the
-- customer's limit counts its cover, as the guard does)

CREATE VIEW pgcredit.group_member_risk AS
  SELECT m.customer, m.group_id AS credit_group, t.top_group,
         e.receivables + e.open_orders AS exposure,
         CASE WHEN e.has_account THEN l.credit_limit END AS credit_limit,
         CASE WHEN e.has_account THEN l.credit_limit - (e.receivables + e.open_orders) END AS available,
         g.exposure AS group_exposure, g.credit_limit AS group_limit,
         g.credit_limit - g.exposure AS group_available,
         h.headroom AS limit_headroom,
         h.limited_by, h.limiting_group, current_date AS day
  FROM pgcredit.group_member m
  JOIN pgcredit.group_exposure g ON g.group_id = m.group_id
  LEFT JOIN pgcredit.exposure e ON e.customer = m.customer
  CROSS JOIN LATERAL (
    SELECT pgcredit._effective_limit(e.credit_limit, e.temporary_limit, e.temporary_from,
                                     e.temporary_until, current_date) AS own) o
  -- the cover that counts today, as the guard adds it: from the copy on
  -- the exposure row when today lies within the days it holds, else
  -- from the covers themselves
  CROSS JOIN LATERAL (
    SELECT CASE WHEN o.own IS NULL THEN 0
                WHEN (e.cover_from IS NULL OR current_date >= e.cover_from)
                     AND (e.cover_until IS NULL OR current_date <= e.cover_until)
                THEN coalesce(e.cover_counted, 0)
                ELSE coalesce((SELECT sum(v.counted) FROM pgcredit.cover_at(current_date) v
                               WHERE v.customer = m.customer), 0) END AS cover) k
  CROSS JOIN LATERAL (SELECT o.own + k.cover AS credit_limit) l
  CROSS JOIN LATERAL (
    SELECT c.group_id AS top_group FROM pgcredit._group_chain(m.group_id) c
    ORDER BY c.depth LIMIT 1) t
  LEFT JOIN LATERAL (
    SELECT w.headroom, w.limited_by, w.limiting_group FROM (
      SELECT pg_catalog.trim_scale(o.own * (1 + e.tolerance_pct / 100)) + k.cover
             - (e.receivables + e.open_orders) AS headroom,
             'customer' AS limited_by, NULL::text AS limiting_group, 0 AS depth
      WHERE e.has_account AND l.credit_limit IS NOT NULL
      UNION ALL
      SELECT pg_catalog.trim_scale(x.credit_limit * (1 + x.tolerance_pct / 100)) - x.exposure,
             'group', x.group_id, c.depth
      FROM pgcredit._group_chain(m.group_id) c
      JOIN pgcredit.group_exposure x ON x.group_id = c.group_id
      WHERE x.credit_limit IS NOT NULL) w
    ORDER BY w.headroom, w.depth DESC LIMIT 1) h ON true;
COMMENT ON VIEW pgcredit.group_member_risk IS 'each member of a credit group with its own exposure, limit and headroom beside its group''s, and the limit that binds it: the customer''s own or a group''s of its chain';
COMMENT ON COLUMN pgcredit.group_member_risk.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.group_member_risk.credit_group IS 'the customer''s group';
COMMENT ON COLUMN pgcredit.group_member_risk.top_group IS 'the top group of its chain (the group itself when it has no parent)';
COMMENT ON COLUMN pgcredit.group_member_risk.exposure IS 'the customer''s receivables + open orders; NULL before pgcredit has seen it';
COMMENT ON COLUMN pgcredit.group_member_risk.credit_limit IS 'the customer''s limit in force today (temporary limit within its window) plus the cover that counts, as the guard applies it; NULL without an account or a limit';
COMMENT ON COLUMN pgcredit.group_member_risk.available IS 'the customer''s limit less its exposure (negative when over); NULL without a limit';
COMMENT ON COLUMN pgcredit.group_member_risk.group_exposure IS 'the exposure of its group (its members'' and its groups'')';
COMMENT ON COLUMN pgcredit.group_member_risk.group_limit IS 'its group''s limit; NULL = none';
COMMENT ON COLUMN pgcredit.group_member_risk.group_available IS 'its group''s limit less the group''s exposure; NULL without a group limit';
COMMENT ON COLUMN pgcredit.group_member_risk.limit_headroom IS 'the largest raise of its exposure that the limits let through now: the smallest of limit with tolerance less exposure, over the customer''s own limit and every group limit of its chain; NULL when none applies (credit rules and account status are not counted)';
COMMENT ON COLUMN pgcredit.group_member_risk.limited_by IS 'customer when its own limit leaves the least headroom, group when a group''s does; NULL when no limit applies';
COMMENT ON COLUMN pgcredit.group_member_risk.limiting_group IS 'the group whose limit leaves the least headroom (the one nearest the customer on a tie); NULL when limited_by is not group';
COMMENT ON COLUMN pgcredit.group_member_risk.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.group_member_risk FROM PUBLIC;
GRANT SELECT ON pgcredit.group_member_risk TO pgcredit_reader;
