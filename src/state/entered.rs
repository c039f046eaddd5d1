//! The tenant entered in the current transaction, kept in backend memory, and the
//! `stash.tenant` / `stash.tenant_id` settings that show it.
//!
//! The context has exactly the lifetime of a SET LOCAL: it ends with the transaction
//! (COMMIT, ROLLBACK, PREPARE), a ROLLBACK TO SAVEPOINT (or a failed PL/pgSQL EXCEPTION
//! block) undoes what was entered inside the subtransaction, and RELEASE keeps it.  It used
//! to be two SET LOCALs of those settings; kept here instead, entering writes no setting
//! (two GUC assignments were a sixth of a tenant_enter, bench/findings.md), and the
//! settings became read-only for everyone, superusers included: their show hooks print
//! this context, and their check hooks refuse any SET.
//!
//! Parallel workers get the leader's settings, not its memory: before a statement that
//! may run parallel workers starts, the executor hook here writes the context into the
//! settings (SET LOCAL, as before), which PostgreSQL then copies into each worker; a
//! worker reads the settings.
use crate::errors::OrRaise;
use crate::pg::guc;
use crate::state::cache::Entry;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CStr, CString};
use std::rc::Rc;

pub(crate) const TENANT_NAME: &CStr = c"stash.tenant";
pub(crate) const TENANT_ID_NAME: &CStr = c"stash.tenant_id";

static TENANT: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static TENANT_ID: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// What one (sub)transaction level entered: a tenant, or None after tenant_exit.
struct Frame {
    level: i32,
    tenant: Option<Rc<Entry>>,
}

thread_local! {
    /// One frame per transaction nesting level that entered (or exited), innermost last.
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    /// Set only while this module writes the settings itself (see [`sync_settings`]).
    static WRITING: Cell<bool> = const { Cell::new(false) };
    /// What the show hooks hand to PostgreSQL, which copies it at once (a slug is at most
    /// 56 bytes, an id 36).
    static SHOWN: RefCell<[[u8; 64]; 2]> = const { RefCell::new([[0; 64]; 2]) };
}

fn nest_level() -> i32 {
    // SAFETY: reads the current transaction state's nesting level; no arguments.
    unsafe { pg_sys::GetCurrentTransactionNestLevel() }
}

fn is_parallel_worker() -> bool {
    // SAFETY: ParallelWorkerNumber is a plain int global, -1 outside parallel workers,
    // written only at worker start-up on this (the backend's only) thread.
    unsafe { pg_sys::ParallelWorkerNumber >= 0 }
}

/// Makes `tenant` (None: no tenant) the context until the current (sub)transaction ends.
pub(crate) fn set(tenant: Option<Rc<Entry>>) {
    let level = nest_level();
    FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        match frames.last_mut() {
            Some(top) if top.level == level => top.tenant = tenant,
            _ => frames.push(Frame { level, tenant }),
        }
    });
}

/// The tenant entered in this transaction (in the leader of a parallel query; workers
/// read the settings, see [`slug`] and [`id`]).
pub(crate) fn current() -> Option<Rc<Entry>> {
    FRAMES.with(|f| f.borrow().last().and_then(|top| top.tenant.clone()))
}

pub(crate) fn in_tenant() -> bool {
    FRAMES.with(|f| f.borrow().last().is_some_and(|top| top.tenant.is_some()))
}

/// The two settings that show the context, and what each shows of the entered tenant.
#[derive(Clone, Copy)]
enum Shown {
    Slug = 0,
    Id = 1,
}

impl Shown {
    const BOTH: [Shown; 2] = [Shown::Slug, Shown::Id];

    fn setting(self) -> &'static GucSetting<Option<CString>> {
        match self {
            Shown::Slug => &TENANT,
            Shown::Id => &TENANT_ID,
        }
    }

    fn name(self) -> &'static CStr {
        match self {
            Shown::Slug => TENANT_NAME,
            Shown::Id => TENANT_ID_NAME,
        }
    }

    fn of(self, tenant: &Entry) -> &CStr {
        match self {
            Shown::Slug => tenant.slug_cstr(),
            Shown::Id => tenant.id_cstr(),
        }
    }

    /// What the setting shows: the entered tenant's value in the leader (or any backend),
    /// the value its leader wrote in a parallel worker; None when no tenant is entered.
    fn value(self) -> Option<CString> {
        if is_parallel_worker() {
            return self.setting().get().filter(|s| !s.is_empty());
        }
        current().map(|t| self.of(&t).to_owned())
    }
}

/// The entered tenant's slug, in the leader or in a parallel worker.
pub(crate) fn slug() -> Option<String> {
    Shown::Slug
        .value()
        .map(|s| s.to_string_lossy().into_owned())
}

/// The entered tenant's id, in the leader or in a parallel worker.
pub(crate) fn id() -> Option<pgrx::Uuid> {
    if !is_parallel_worker() {
        return current().map(|t| t.id());
    }
    let text = Shown::Id.value()?;
    // Only the leader writes the setting (its check hook refuses everyone else).
    let parsed = uuid::Uuid::parse_str(&text.to_string_lossy())
        .ok()
        .or_raise("a parallel worker's stash.tenant_id is the id its leader wrote");
    Some(pgrx::Uuid::from_bytes(*parsed.as_bytes()))
}

pub(crate) fn init() {
    let flags = GucFlags::NO_RESET_ALL | GucFlags::NO_SHOW_ALL | GucFlags::DISALLOW_IN_FILE;
    // SAFETY: the hooks cannot let a Rust panic cross into C: each is #[pg_guard]ed and has
    // exactly the GucStringCheckHook / GucShowHook signature.  TENANT and TENANT_ID are
    // statics, alive as long as the registration; _PG_init runs once, on the backend's
    // only thread.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            TENANT_NAME,
            c"Slug of the tenant entered in this transaction (read-only; set by stash.tenant_enter).",
            c"",
            &TENANT,
            GucContext::Suset,
            flags,
            Some(check_read_only),
            None,
            Some(show_tenant),
        );
        GucRegistry::define_string_guc_with_hooks(
            TENANT_ID_NAME,
            c"Id of the tenant entered in this transaction (read-only; set by stash.tenant_enter).",
            c"",
            &TENANT_ID,
            GucContext::Suset,
            flags,
            Some(check_read_only),
            None,
            Some(show_tenant_id),
        );
    }
    // SAFETY: as for the hooks above (exact SubXactCallback / XactCallback /
    // ExecutorStart_hook_type signatures, #[pg_guard]ed); the previous executor hook is
    // saved before ours is installed and ours calls it; the library is never unloaded.
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
        PREVIOUS_EXECUTOR_START = pg_sys::ExecutorStart_hook;
        pg_sys::ExecutorStart_hook = Some(executor_start);
    }
}

/// Ends the context with the transaction.
///
/// # Safety
/// Called only by PostgreSQL's CallXactCallbacks, as registered in [`init`].
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    if matches!(
        event,
        XACT_EVENT_COMMIT
            | XACT_EVENT_ABORT
            | XACT_EVENT_PREPARE
            | XACT_EVENT_PARALLEL_COMMIT
            | XACT_EVENT_PARALLEL_ABORT
    ) {
        FRAMES.with(|f| f.borrow_mut().clear());
    }
}

/// A subtransaction's abort undoes what it entered; its commit hands it to the parent.
/// PostgreSQL calls this while the subtransaction is still the current one, so the
/// current nesting level is the subtransaction's.
///
/// # Safety
/// Called only by PostgreSQL's CallSubXactCallbacks, as registered in [`init`].
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    _sub: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::SubXactEvent::*;
    if event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB {
        return;
    }
    FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        if frames.is_empty() {
            return;
        }
        let level = nest_level();
        if event == SUBXACT_EVENT_ABORT_SUB {
            frames.retain(|frame| frame.level < level);
        } else if frames.last().is_some_and(|top| top.level == level) {
            // The parent's own frame, if any, is superseded: an abort of the parent
            // undoes both.
            let top = frames.pop().or_raise("just checked");
            if frames.last().is_some_and(|f| f.level == level - 1) {
                frames.pop();
            }
            frames.push(Frame {
                level: level - 1,
                tenant: top.tenant,
            });
        }
    });
}

static mut PREVIOUS_EXECUTOR_START: pg_sys::ExecutorStart_hook_type = None;

/// Before a statement that may start parallel workers: the context into the settings, so
/// that PostgreSQL copies it into the workers (see the module's comment).
///
/// # Safety
/// Called only by PostgreSQL's ExecutorStart, with its own arguments, as installed in
/// [`init`].
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn executor_start(query: *mut pg_sys::QueryDesc, eflags: i32) {
    // SAFETY: `query` is the QueryDesc ExecutorStart was called with, and its plannedstmt
    // is set for every query that reaches the executor.
    let parallel = unsafe {
        !query.is_null()
            && !(*query).plannedstmt.is_null()
            && (*(*query).plannedstmt).parallelModeNeeded
    };
    // Already in parallel mode (a statement run by one that started workers): the
    // settings were written before that one started, and cannot be written now.
    // SAFETY: IsInParallelMode only reads the current transaction state.
    if parallel && !is_parallel_worker() && !unsafe { pg_sys::IsInParallelMode() } {
        sync_settings();
    }
    // SAFETY: the saved previous hook (or PostgreSQL's standard function), called with the
    // arguments we were given, as every hook chain expects.
    unsafe {
        match PREVIOUS_EXECUTOR_START {
            Some(previous) => previous(query, eflags),
            None => pg_sys::standard_ExecutorStart(query, eflags),
        }
    }
}

/// Writes the context into the two settings (SET LOCAL), where they differ.
fn sync_settings() {
    let tenant = current();
    for shown in Shown::BOTH {
        let value = tenant.as_deref().map_or(c"", |t| shown.of(t));
        if shown.setting().get().as_deref().unwrap_or(c"") != value {
            struct Writing;
            impl Drop for Writing {
                fn drop(&mut self) {
                    WRITING.set(false);
                }
            }
            WRITING.set(true);
            let _writing = Writing;
            guc::set_local_cstr(shown.name(), value);
        }
    }
}

/// Both settings accept only their default, this module's own writes, and what a parallel
/// worker is given by its leader: `SET stash.tenant_id` cannot forge a context, whoever
/// runs it.
///
/// # Safety
/// Called only by guc.c as the check hook registered in [`init`], with its own arguments.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_read_only(
    _newval: *mut *mut c_char,
    _extra: *mut *mut std::ffi::c_void,
    source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: InitializingParallelWorker is a plain bool global, written only at worker
    // start-up on this (the backend's only) thread.
    let worker = unsafe { pg_sys::InitializingParallelWorker };
    if WRITING.get() || worker || source == pg_sys::GucSource::PGC_S_DEFAULT {
        return true;
    }
    // SAFETY: the documented way for a check hook to report (guc.h's GUC_check_errcode,
    // GUC_check_errmsg_string and GUC_check_errhint_string), on the backend's only
    // thread: the globals get palloc'd copies of NUL-terminated literals, in the current
    // memory context, which lasts until guc.c has reported them.
    unsafe {
        pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32);
        pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(
            c"The tenant context is set only by stash.tenant_enter() and stash.tenant_exit(), for every role, superusers included.".as_ptr(),
        );
        pg_sys::GUC_check_errhint_string =
            pg_sys::pstrdup(c"Enter the tenant with SELECT stash.tenant_enter('slug');".as_ptr());
    }
    false
}

/// What SHOW and current_setting() print: the context (in a parallel worker, the setting
/// its leader wrote), copied where it stays valid until the next show of that setting.
fn show(shown: Shown) -> *const c_char {
    let value = shown.value();
    SHOWN.with(|buffers| {
        let mut buffers = buffers.borrow_mut();
        let buf = &mut buffers[shown as usize];
        let bytes = value.as_ref().map(|v| v.to_bytes()).unwrap_or_default();
        let n = bytes.len().min(buf.len() - 1);
        buf[..n].copy_from_slice(&bytes[..n]);
        buf[n] = 0;
        buf.as_ptr() as *const c_char
    })
}

/// # Safety
/// Called only by guc.c as the show hook registered in [`init`].
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn show_tenant() -> *const c_char {
    show(Shown::Slug)
}

/// # Safety
/// Called only by guc.c as the show hook registered in [`init`].
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn show_tenant_id() -> *const c_char {
    show(Shown::Id)
}
