//! How queries on a pool table are planned: the planner hook that reads the tenant id as an
//! index key instead of through a sub-SELECT, where that is the same thing.
//!
//! A pool table's policy (pool.rs) is `tenant_id = (SELECT stash.current_tenant_id())`: an
//! InitPlan, so the tenant id is read once per statement whatever the plan — a plain
//! `stash.current_tenant_id()` would be called once per row in a sequential scan.  But
//! planning that sub-SELECT is most of what row-level security adds to a point lookup
//! (~1.5 of ~2 µs per statement, bench/findings.md), and every transaction plans again
//! (tenant_enter changes search_path and, for application roles, the user).
//!
//! When the call is an index condition, PostgreSQL evaluates it once, when the scan starts
//! (a btree never asks to recheck a row).  So for the common shape — a SELECT of one table
//! whose only security qual is our policy, not for a cursor that can be rewound —
//! the hook plans the query with the plain call first and keeps that plan if the call sits
//! nowhere but in the index conditions of scans that run once; otherwise (a sequential or
//! bitmap scan, a join, a sub-plan, any node it does not know) it plans the query as
//! written, from a copy taken before.  The rows are the same either way: only when the id
//! is read changes, never what it is compared with.  Without the library loaded, there is
//! no hook and the policy as stored applies.
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::Cell;
use std::ffi::c_void;

static mut PREVIOUS_PLANNER_HOOK: pg_sys::planner_hook_type = None;

thread_local! {
    /// The oid of `stash.current_tenant_id()` in this database: None until looked up,
    /// Some(InvalidOid) if there is none.  Forgotten on any change to pg_proc.
    static CURRENT_TENANT_ID: Cell<Option<pg_sys::Oid>> = const { Cell::new(None) };
}

pub(crate) fn init() {
    // SAFETY: hook chaining in _PG_init, which runs once per process on its only thread
    // before any query is planned: the previous hook is saved before ours is installed,
    // and `plan` calls it.  The library is never unloaded, so the pointer stays valid.
    unsafe {
        PREVIOUS_PLANNER_HOOK = pg_sys::planner_hook;
        pg_sys::planner_hook = Some(planner_hook);
    }
    // SAFETY: _PG_init, as above.  The callback has the SyscacheCallbackFunction
    // signature, is #[pg_guard]ed, and only clears a thread-local; the registration lasts
    // for the process (more callbacks than PostgreSQL has slots would be a FATAL, not UB).
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::PROCOID as _,
            Some(on_proc_invalidation),
            pg_sys::Datum::from(0),
        );
    }
}

/// # Safety
/// Called only by PostgreSQL's syscache invalidation (registered in [`init`]), on the
/// backend's thread; it touches nothing but a thread-local.
#[pg_guard]
unsafe extern "C-unwind" fn on_proc_invalidation(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    CURRENT_TENANT_ID.set(None);
}

// SAFETY: the declaration is standard_planner's in optimizer/planner.h, identical in
// PostgreSQL 15 to 18 and the one pgrx binds as pg_sys::standard_planner (and as
// planner_hook_type); only pgrx's error boundary is left out, on purpose.
unsafe extern "C-unwind" {
    // The same function as pg_sys::standard_planner, declared without pgrx's error
    // boundary: see planner_hook.
    #[link_name = "standard_planner"]
    fn standard_planner(
        parse: *mut pg_sys::Query,
        query_string: *const std::ffi::c_char,
        cursor_options: i32,
        bound_params: pg_sys::ParamListInfo,
    ) -> *mut pg_sys::PlannedStmt;
}

/// Plans with the next hook, or PostgreSQL's planner; errors pass as PostgreSQL raised them.
///
/// # Safety
/// The arguments are those PostgreSQL called [`planner_hook`] with (`parse` may be our
/// rewritten query or its copy), and the caller's frame owns nothing that needs dropping:
/// an error raised while planning longjmps straight over it.
unsafe fn plan(
    parse: *mut pg_sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: pg_sys::ParamListInfo,
) -> *mut pg_sys::PlannedStmt {
    // SAFETY: the planner's own arguments go to the hook that was installed before ours
    // (saved in init) or to standard_planner, exactly as PostgreSQL's planner() would pass
    // them; this frame holds nothing to drop when an error longjmps over it.
    unsafe {
        match PREVIOUS_PLANNER_HOOK {
            Some(previous) => previous(parse, query_string, cursor_options, bound_params),
            None => standard_planner(parse, query_string, cursor_options, bound_params),
        }
    }
}

/// The planner hook.  Deliberately not a #[pg_guard] function, and planning without
/// pgrx's error boundary (like isolation.rs's utility hook): an error raised while
/// planning — `SELECT 1/0` fails in constant folding — must reach the caller exactly as
/// PostgreSQL raised it; re-raising it through Rust would replace its DETAIL.  What this
/// frame does itself is in the two guarded functions, and it owns nothing that needs
/// dropping when an error jumps over it.
///
/// # Safety
/// Called only by PostgreSQL's planner() as `planner_hook` (installed in [`init`]), with a
/// rewritten Query it may scribble on, inside a transaction.
unsafe extern "C-unwind" fn planner_hook(
    parse: *mut pg_sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: pg_sys::ParamListInfo,
) -> *mut pg_sys::PlannedStmt {
    // SAFETY: `parse` is the planner's input (rewrite_for_index's contract); `plan` gets
    // the planner's own arguments, with either that query or the untouched copy
    // rewrite_for_index made; reads_once gets the PlannedStmt the planner just returned.
    // Nothing in this frame needs dropping if an error longjmps over it.
    unsafe {
        let original = rewrite_for_index(parse, cursor_options);
        if original.is_null() {
            return plan(parse, query_string, cursor_options, bound_params);
        }
        let fast = plan(parse, query_string, cursor_options, bound_params);
        if reads_once(fast) {
            fast
        } else {
            plan(original, query_string, cursor_options, bound_params)
        }
    }
}

/// If `parse` has the shape the hook handles, replaces the policy's sub-SELECT in it by the
/// plain call and returns a copy of the query as it was; otherwise null, `parse` untouched.
///
/// # Safety
/// `parse` is the Query the planner hook was called with, inside a transaction.
#[pg_guard]
unsafe extern "C-unwind" fn rewrite_for_index(
    parse: *mut pg_sys::Query,
    cursor_options: i32,
) -> *mut pg_sys::Query {
    // SAFETY: `parse` is a valid Query (this function's contract).
    if unsafe { !(*parse).hasRowSecurity } {
        return std::ptr::null_mut();
    }
    // A cursor can be rewound (FETCH FIRST, MOVE ABSOLUTE; a holdable one is rewound at
    // commit), which evaluates index conditions again but not an InitPlan: an
    // administrator who entered another tenant since would then see that tenant's rows
    // where the stored policy shows the first's.  DECLARE CURSOR plans with FAST_PLAN,
    // and becomes scrollable after planning when the plan allows it.
    let rewindable =
        (pg_sys::CURSOR_OPT_SCROLL | pg_sys::CURSOR_OPT_HOLD | pg_sys::CURSOR_OPT_FAST_PLAN) as i32;
    if cursor_options & rewindable != 0 {
        return std::ptr::null_mut();
    }
    let Some(function) = current_tenant_id_oid() else {
        return std::ptr::null_mut();
    };
    // SAFETY: `parse` is a valid Query, which is all policy_sublink needs.
    let found = unsafe { policy_sublink(parse, function) };
    let Some((cell, direct)) = found else {
        return std::ptr::null_mut();
    };
    // The planner scribbles on its input: the query as written, for the fallback.
    // SAFETY: copyObjectImpl deep-copies the valid Query into CurrentMemoryContext,
    // the planner caller's, which outlives planning.  `cell` is the cell of the
    // policy's OpExpr argument list inside `parse` that holds the sub-SELECT, and
    // `direct` the FuncExpr that sub-SELECT returns, of the same type: storing it
    // there leaves `parse` a valid Query for the planner.
    unsafe {
        let original = pg_sys::copyObjectImpl(parse.cast()).cast::<pg_sys::Query>();
        (*cell).ptr_value = direct.cast();
        original
    }
}

/// Whether the plan made from the rewritten query reads the tenant id once.
///
/// # Safety
/// `stmt` is the PlannedStmt the planner just returned, inside a transaction.
#[pg_guard]
unsafe extern "C-unwind" fn reads_once(stmt: *mut pg_sys::PlannedStmt) -> bool {
    let Some(function) = current_tenant_id_oid() else {
        return false;
    };
    // SAFETY: `stmt` is a valid PlannedStmt (this function's contract): its subplans are
    // NIL or a List, and its plan tree a valid Plan, as list_len and read_once require.
    unsafe { list_len((*stmt).subplans) == 0 && read_once((*stmt).planTree, function) }
}

/// The oid of `stash.current_tenant_id()`, if the extension is in this database.
fn current_tenant_id_oid() -> Option<pg_sys::Oid> {
    let oid = CURRENT_TENANT_ID.get().unwrap_or_else(|| {
        // SAFETY: called while planning, inside a transaction, so syscache lookups work.
        // get_namespace_oid with missing_ok=true returns InvalidOid for a missing schema
        // instead of raising.  buildoidvector(NULL, 0) pallocs an empty oidvector (it
        // copies only when n > 0), and GetSysCacheOid on PROCNAMEARGSNSP takes the name as
        // a C string, the argument types as an oidvector and the namespace's oid — the
        // keys PostgreSQL's own lookups pass — returning InvalidOid when there is no match.
        let oid = unsafe {
            let namespace = pg_sys::get_namespace_oid(c"stash".as_ptr(), true);
            if namespace == pg_sys::InvalidOid {
                pg_sys::InvalidOid
            } else {
                let no_args = pg_sys::buildoidvector(std::ptr::null(), 0);
                pg_sys::GetSysCacheOid(
                    pg_sys::SysCacheIdentifier::PROCNAMEARGSNSP as _,
                    pg_sys::Anum_pg_proc_oid as _,
                    pg_sys::Datum::from(c"current_tenant_id".as_ptr()),
                    pg_sys::Datum::from(no_args),
                    pg_sys::Datum::from(namespace),
                    pg_sys::Datum::from(0),
                )
            }
        };
        CURRENT_TENANT_ID.set(Some(oid));
        oid
    });
    (oid != pg_sys::InvalidOid).then_some(oid)
}

// The List layout (PostgreSQL 13+: `length` cells in one `elements` array) is read here
// directly rather than through pgrx's PgList, whose element access calls the C shim's
// list_nth across pgrx's FFI guard (a sigsetjmp per call): this hook runs for every
// statement of every tenant transaction, and reads at most a handful of cells.

/// # Safety
/// `list` is NIL (NULL) or points to a valid List.
unsafe fn list_len(list: *mut pg_sys::List) -> i32 {
    if list.is_null() {
        0
    } else {
        // SAFETY: a non-NULL valid List (this function's contract).
        unsafe { (*list).length }
    }
}

/// # Safety
/// `list` points to a valid, non-empty List and `0 <= n < list_len(list)`.
unsafe fn nth(list: *mut pg_sys::List, n: i32) -> *mut pg_sys::ListCell {
    // SAFETY: a List's `elements` array holds at least `length` cells, and `n` is below
    // that (this function's contract), so the pointer stays inside the array.
    unsafe { (*list).elements.add(n as usize) }
}

/// # Safety
/// `node` is NULL or points to a node: a struct that begins with its NodeTag.
unsafe fn is_a<T>(node: *mut T, tag: pg_sys::NodeTag) -> bool {
    // SAFETY: non-NULL, so a node (this function's contract); every node type begins
    // with its `type_` tag, which is all that is read.
    !node.is_null() && unsafe { (*node.cast::<pg_sys::Node>()).type_ == tag }
}

/// For a SELECT of one table whose only security qual is a pool policy, `column =
/// (SELECT stash.current_tenant_id())`: the list cell holding the sub-SELECT, and the call
/// inside it.
///
/// # Safety
/// `parse` points to a valid, rewritten Query (the planner's input).
unsafe fn policy_sublink(
    parse: *mut pg_sys::Query,
    function: pg_sys::Oid,
) -> Option<(*mut pg_sys::ListCell, *mut pg_sys::FuncExpr)> {
    // SAFETY: `parse` is a valid Query (this function's contract), and so is everything
    // read from it: a pointer is dereferenced only after a NULL check, an is_a check of
    // its node type (which also rejects NULL), or when parse analysis always sets it (an
    // RTE of rtable, a TargetEntry of targetList); nth is called only with an index
    // below the length list_len has just checked.
    unsafe {
        let q = &*parse;
        if q.commandType != pg_sys::CmdType::CMD_SELECT
            || list_len(q.rtable) != 1
            || !q.cteList.is_null()
            || !q.setOperations.is_null()
            || !q.rowMarks.is_null()
            || q.jointree.is_null()
            || list_len((*q.jointree).fromlist) != 1
        {
            return None;
        }
        let rte = (*nth(q.rtable, 0))
            .ptr_value
            .cast::<pg_sys::RangeTblEntry>();
        if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION || list_len((*rte).securityQuals) != 1 {
            return None;
        }
        let qual = (*nth((*rte).securityQuals, 0))
            .ptr_value
            .cast::<pg_sys::OpExpr>();
        if !is_a(qual, pg_sys::NodeTag::T_OpExpr) || list_len((*qual).args) != 2 {
            return None;
        }
        for i in 0..2 {
            let cell = nth((*qual).args, i);
            let other = (*nth((*qual).args, 1 - i)).ptr_value.cast::<pg_sys::Var>();
            let sublink = (*cell).ptr_value.cast::<pg_sys::SubLink>();
            if !is_a(other, pg_sys::NodeTag::T_Var) || !is_a(sublink, pg_sys::NodeTag::T_SubLink) {
                continue;
            }
            if (*sublink).subLinkType != pg_sys::SubLinkType::EXPR_SUBLINK
                || !(*sublink).testexpr.is_null()
            {
                return None;
            }
            let sub = (*sublink).subselect.cast::<pg_sys::Query>();
            if !is_a(sub, pg_sys::NodeTag::T_Query)
                || (*sub).commandType != pg_sys::CmdType::CMD_SELECT
                || list_len((*sub).rtable) != 0
                || list_len((*sub).targetList) != 1
                || (*sub).jointree.is_null()
                || list_len((*(*sub).jointree).fromlist) != 0
                || !(*(*sub).jointree).quals.is_null()
                || !(*sub).havingQual.is_null()
                || !(*sub).limitCount.is_null()
                || !(*sub).limitOffset.is_null()
            {
                return None;
            }
            let entry = (*nth((*sub).targetList, 0))
                .ptr_value
                .cast::<pg_sys::TargetEntry>();
            let call = (*entry).expr.cast::<pg_sys::FuncExpr>();
            if is_a(call, pg_sys::NodeTag::T_FuncExpr)
                && (*call).funcid == function
                && list_len((*call).args) == 0
            {
                return Some((cell, call));
            }
            return None;
        }
        None
    }
}

/// Whether `function` is called anywhere in `node` (an expression or a list of them).
///
/// # Safety
/// `node` is NULL or a valid expression tree (or List of them) of a plan or query.
unsafe fn calls<T>(node: *mut T, function: pg_sys::Oid) -> bool {
    /// # Safety
    /// Called by `calls` or by expression_tree_walker, with `node` NULL or a node of a
    /// valid expression tree and `context` pointing to the Oid that `calls` owns for the
    /// whole walk.
    #[pg_guard]
    unsafe extern "C-unwind" fn walker(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
        // SAFETY: `node` is NULL-checked, then a valid node whose tag is read before it is
        // taken for a FuncExpr; `context` points to an Oid (walker's contract);
        // expression_tree_walker visits the node's children with the same `context`.
        unsafe {
            if node.is_null() {
                return false;
            }
            if (*node).type_ == pg_sys::NodeTag::T_FuncExpr
                && (*node.cast::<pg_sys::FuncExpr>()).funcid == *context.cast::<pg_sys::Oid>()
            {
                return true;
            }
            pg_sys::expression_tree_walker(node, Some(walker), context)
        }
    }
    let mut function = function;
    // SAFETY: `node` is NULL or a valid expression tree (this function's contract), and
    // `context` points to `function`, a local that outlives the walk.
    unsafe {
        walker(
            node.cast(),
            (&mut function as *mut pg_sys::Oid).cast::<c_void>(),
        )
    }
}

/// Whether the index is a btree (the planner holds a lock on it: a relcache hit).
///
/// # Safety
/// Inside a transaction, with the oid of an index the planner opened and locked for
/// the plan being checked.
unsafe fn is_btree(index: pg_sys::Oid) -> bool {
    // SAFETY: RelationIdGetRelation returns NULL for a missing relation (checked), else
    // the relcache entry with its reference count raised, so it stays valid until the
    // RelationClose below gives that reference back; rd_rel is always set in a valid
    // entry.  The planner's lock on the index keeps the entry from being rebuilt meanwhile.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(index);
        if rel.is_null() {
            return false;
        }
        let btree = (*(*rel).rd_rel).relam == pg_sys::BTREE_AM_OID;
        pg_sys::RelationClose(rel);
        btree
    }
}

/// Whether every call of `function` in the plan is an index condition of a scan that runs
/// once per execution: under nodes that run their child once (no join, no rescan), in a
/// btree index scan or index-only scan.  Any other node makes it false.
///
/// # Safety
/// `plan` is NULL or a valid Plan tree the planner just made, inside the transaction
/// that planned it.
unsafe fn read_once(plan: *mut pg_sys::Plan, function: pg_sys::Oid) -> bool {
    use pg_sys::NodeTag::*;
    // SAFETY: `plan` is NULL-checked, then a valid Plan (this function's contract): its
    // tag says which Plan struct it is before each cast; its expression fields (qual,
    // targetlist, indexorderby, resconstantqual, limitOffset, limitCount) are NULL or
    // expression trees, as `calls` requires; indexid is an index the planner opened and
    // locked, as is_btree requires; lefttree is NULL or a Plan, for the recursion.
    unsafe {
        if plan.is_null() {
            return true;
        }
        let p = &*plan;
        if calls(p.qual, function) || calls(p.targetlist, function) || !p.righttree.is_null() {
            return false;
        }
        // Only btree: other access methods may ask for a recheck of every row, which
        // evaluates the original index conditions (indexqualorig) row by row.
        let own = match p.type_ {
            T_IndexScan => {
                let s = &*plan.cast::<pg_sys::IndexScan>();
                is_btree(s.indexid) && !calls(s.indexorderby, function)
            }
            T_IndexOnlyScan => {
                let s = &*plan.cast::<pg_sys::IndexOnlyScan>();
                is_btree(s.indexid) && !calls(s.indexorderby, function)
            }
            T_Result => !calls((*plan.cast::<pg_sys::Result>()).resconstantqual, function),
            T_Limit => {
                let l = &*plan.cast::<pg_sys::Limit>();
                !calls(l.limitOffset, function) && !calls(l.limitCount, function)
            }
            T_Agg | T_Sort | T_IncrementalSort | T_Gather | T_GatherMerge | T_Unique
            | T_Material => true,
            _ => false,
        };
        own && read_once(p.lefttree, function)
    }
}
