-- A description of everything pgcredit puts in a database's catalog, one
-- fact a line, sorted: two databases hold the same pgcredit when this
-- prints the same text in both.  test/t/upgrade.pl runs it in a database
-- updated from 1.0 and in one where the newest version was installed
-- fresh.  It names objects, never OIDs, and sorts every list (ACLs,
-- config-dump registrations), so the order statements ran in does not
-- show; what they left does.
--
-- Covered: the extension row and its config-dump registration; members
-- of the extension; the schema; functions and aggregates (signature,
-- result, body, language, volatility, strictness, parallel safety,
-- security definer, settings, cost, rows, owner, ACL); relations (kind,
-- owner, ACL, options, row security); columns (position, type, default,
-- not null, collation, identity, generated, ACL); constraints; indexes;
-- views; sequences; types; triggers; event triggers; policies; every
-- comment.

\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\pset pager off
SET search_path = pg_catalog;

-- an ACL as a sorted list of grantee=privilege/grantor, or "default"
CREATE FUNCTION pg_temp.acl(a aclitem[]) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN a IS NULL THEN 'default' ELSE coalesce(
    (SELECT string_agg(i, ' ' ORDER BY i COLLATE "C")
     FROM (SELECT format('%s=%s%s/%s',
                         CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END,
                         x.privilege_type, CASE WHEN x.is_grantable THEN '*' ELSE '' END,
                         x.grantor::regrole) AS i
           FROM aclexplode(a) AS x) AS items), 'none') END
$$;

WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'pgcredit'),
nsp AS (SELECT oid FROM pg_namespace WHERE nspname = 'pgcredit'),
rel AS (SELECT c.* FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM nsp)),
facts(line) AS (
  SELECT format('extension %s version %s schema %s relocatable %s owner %s',
                e.extname, e.extversion, e.extnamespace::regnamespace, e.extrelocatable,
                e.extowner::regrole)
  FROM ext e
UNION ALL
  SELECT format('config dump %s condition %L', t::regclass, c)
  FROM ext e, unnest(e.extconfig, e.extcondition) AS u(t, c)
UNION ALL
  SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d, ext e
  WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
UNION ALL
  SELECT format('schema %s owner %s acl %s', n.nspname, n.nspowner::regrole, pg_temp.acl(n.nspacl))
  FROM pg_namespace n WHERE n.oid = (SELECT oid FROM nsp)
UNION ALL
  SELECT format('function %s (%s) kind %s returns %s language %s volatility %s strict %s '
                'parallel %s security_definer %s leakproof %s config %s cost %s rows %s '
                'owner %s acl %s binary %s body %s',
                p.oid::regprocedure, pg_get_function_arguments(p.oid), p.prokind,
                pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proisstrict,
                p.proparallel, p.prosecdef, p.proleakproof, p.proconfig, p.procost, p.prorows,
                p.proowner::regrole, pg_temp.acl(p.proacl), p.probin, p.prosrc)
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
  WHERE p.pronamespace = (SELECT oid FROM nsp)
UNION ALL
  SELECT format('aggregate %s kind %s transfn %s finalfn %s combinefn %s serialfn %s '
                'deserialfn %s transtype %s finalmodify %s initval %s msfunc %s sortop %s',
                a.aggfnoid::regprocedure, a.aggkind, a.aggtransfn::regprocedure,
                a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
                a.aggtranstype::regtype, a.aggfinalmodify, a.agginitval, a.aggmtransfn,
                a.aggsortop)
  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
  WHERE p.pronamespace = (SELECT oid FROM nsp)
UNION ALL
  SELECT format('relation %s kind %s owner %s acl %s options %s persistence %s '
                'row_security %s force_row_security %s replica_identity %s',
                c.oid::regclass, c.relkind, c.relowner::regrole, pg_temp.acl(c.relacl),
                c.reloptions, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
                c.relreplident)
  FROM rel c
UNION ALL
  SELECT format('column %s.%s position %s type %s not_null %s default %s collation %s '
                'identity %L generated %L acl %s',
                c.oid::regclass, a.attname,
                row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(ad.adbin, ad.adrelid), a.attcollation::regcollation,
                a.attidentity, a.attgenerated, pg_temp.acl(a.attacl))
  FROM rel c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
UNION ALL
  SELECT format('constraint %s on %s %s deferrable %s deferred %s',
                co.conname, coalesce(co.conrelid::regclass::text, co.contypid::regtype::text),
                pg_get_constraintdef(co.oid), co.condeferrable, co.condeferred)
  FROM pg_constraint co WHERE co.connamespace = (SELECT oid FROM nsp)
UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN rel c ON c.oid = i.indrelid
UNION ALL
  SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid, true))
  FROM rel c WHERE c.relkind IN ('v', 'm')
UNION ALL
  SELECT format('sequence %s type %s start %s increment %s min %s max %s cache %s cycle %s owned_by %s',
                s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin,
                s.seqmax, s.seqcache, s.seqcycle,
                (SELECT format('%s.%s %s', d.refobjid::regclass, a.attname, d.deptype)
                 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
  FROM pg_sequence s JOIN rel c ON c.oid = s.seqrelid
UNION ALL
  SELECT format('type %s kind %s owner %s acl %s', t.oid::regtype, t.typtype, t.typowner::regrole,
                pg_temp.acl(t.typacl))
  FROM pg_type t
  WHERE t.typnamespace = (SELECT oid FROM nsp) AND t.typcategory <> 'A'
    AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
UNION ALL
  SELECT format('trigger %s enabled %s', pg_get_triggerdef(tg.oid), tg.tgenabled)
  FROM pg_trigger tg JOIN rel c ON c.oid = tg.tgrelid
  WHERE NOT tg.tgisinternal
UNION ALL
  SELECT format('event trigger %s on %s function %s tags %s enabled %s owner %s',
                ev.evtname, ev.evtevent, ev.evtfoid::regprocedure, ev.evttags, ev.evtenabled,
                ev.evtowner::regrole)
  FROM pg_event_trigger ev
UNION ALL
  SELECT format('policy %s on %s.%s command %s permissive %s roles %s using %s check %s',
                po.policyname, po.schemaname, po.tablename, po.cmd, po.permissive, po.roles,
                po.qual, po.with_check)
  FROM pg_policies po WHERE po.schemaname = 'pgcredit'
UNION ALL
  -- every comment on an object created after initdb (the extension's)
  SELECT format('comment on %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
  FROM pg_description d
  WHERE d.objoid >= 16384
    AND d.classoid <> 'pg_database'::regclass
)
SELECT line FROM facts ORDER BY line COLLATE "C";
