//! Per-backend caches of the registry, and their invalidation.
//!
//! Three caches: the tenants `tenant_enter` has looked up, with their roles ([`lookup`]),
//! the application roles ([`app_role`]), and the owner and relid of `stash.tenants`
//! ([`registry_owner`]).  Any write to `stash.tenants` or `stash.app_role_registry` fires
//! a statement trigger that queues a relcache invalidation of `stash.tenants`
//! (transactional:
//! sent at commit, applied locally at command end and undone locally at abort); the
//! relcache callback then marks both caches stale.  A lookup first drains the
//! invalidation queue, so a suspend or drop committed by another session is seen by the
//! very next tenant_enter anywhere — on a hot standby too, where invalidations arrive
//! through WAL.
//!
//! The callback only bumps a counter (a `Cell`): it runs inside PostgreSQL's invalidation
//! processing, which can happen during almost any catalog access, so it must never need
//! a borrow that the interrupted code might hold.  A change to any role (pg_authid) marks
//! the caches stale too: a tenant role dropped and recreated by tenant_roles_repair has a
//! new oid.
use crate::catalog::invalidation;
use crate::catalog::registry::{self, Key, Status, Tenant};
use crate::errors::OrRaise;
use crate::pg::backend;
use crate::pg::objects;
use crate::pg::snapshot::with_latest_snapshot;
use crate::state::settings;
use pgrx::prelude::*;
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

/// Beyond this many entries the cache is simply emptied: a backend that has visited this
/// many tenants is rare, and refilling costs one indexed lookup per tenant.
const CACHE_LIMIT: usize = 100_000;

/// Up to this many tenants, a backend that keeps missing reads the whole registry in one
/// query (a few µs per tenant) instead of one lookup per tenant (~100 µs each through
/// SPI): a pooled connection that serves many tenants then hits from early on.  Larger
/// registries are cached tenant by tenant.
const FILL_LIMIT: usize = 50_000;

/// Misses (since the last invalidation) before a backend reads the whole registry: a
/// short-lived connection that enters one or two tenants never pays for all of them.
const FILL_AFTER_MISSES: u32 = 16;

/// The longest slug (the registry's CHECK): slugs fit inline in keys and entries.
const SLUG_MAX: usize = 56;

/// The hash of a slug in [`Tenants::by_slug`]: of its bytes only, with a fast hash (the
/// keys are ours, not an attacker's: slugs are written by administrators).
fn slug_hash(slug: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(slug)
}

/// A registry row in the form tenant_enter consumes it: the values it SETs are built once
/// per backend and tenant, not on every call (formatting the uuid and quoting the schema
/// were a measurable part of a call; see BENCHMARKS.md), and kept inline, so that one
/// call reads a few adjacent cache lines: with 10,000 tenants the entries are rarely in the
/// CPU's caches (the tenants' queries between two enters evict them), so every pointer
/// followed is a memory access of its own.
pub(crate) struct Entry {
    /// The slug and the id as NUL-terminated text, ready for set_config_option.
    slug: [u8; SLUG_MAX + 1],
    slug_len: u8,
    id_text: [u8; 37],
    id: pgrx::Uuid,
    /// The schema's oid as read with the registry row (tenant_enter locks it).
    schema_oid: Option<pg_sys::Oid>,
    pub status: Status,
    /// The catalog-cache release epoch in which this backend last entered the tenant
    /// (memory.rs counts the tenants whose catalog entries are loaded afresh).
    pub(crate) entered_in: Cell<u64>,
    /// The oid of the tenant's role, once looked up (only application roles need it, so
    /// a fill of the whole registry does not look up 10,000 roles).
    role: std::cell::OnceCell<Option<pg_sys::Oid>>,
    /// The tenant's search_path, and the [`shared_generation`] it was built in.
    path: RefCell<Option<(u64, CString)>>,
    quoted_schema: String,
}

/// Text into a NUL-terminated inline buffer (the text is known to fit and have no NUL).
fn inline<const N: usize>(text: &str) -> [u8; N] {
    let mut buf = [0; N];
    buf[..text.len()].copy_from_slice(text.as_bytes());
    buf
}

impl Entry {
    fn new(tenant: &Tenant) -> Entry {
        if tenant.slug.len() > SLUG_MAX {
            crate::errors::bug(format!(
                "slug \"{}\" is longer than the registry's CHECK allows",
                tenant.slug
            ));
        }
        Entry {
            slug: inline(&tenant.slug),
            slug_len: tenant.slug.len() as u8,
            id_text: inline(&tenant.id.to_string()),
            id: tenant.id,
            schema_oid: tenant.schema_oid,
            status: tenant.status,
            entered_in: Cell::new(0),
            role: std::cell::OnceCell::new(),
            path: RefCell::new(None),
            quoted_schema: pgrx::spi::quote_identifier(&tenant.schema),
        }
    }

    pub(crate) fn slug_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.slug)
            .ok()
            .or_raise("a cached slug is NUL-terminated")
    }

    pub(crate) fn id_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.id_text)
            .ok()
            .or_raise("a cached id is NUL-terminated")
    }

    pub(crate) fn id(&self) -> pgrx::Uuid {
        self.id
    }

    fn slug_bytes(&self) -> &[u8] {
        &self.slug[..self.slug_len as usize]
    }

    pub(crate) fn slug(&self) -> &str {
        self.slug_cstr().to_str().ok().or_raise("slugs are ASCII")
    }

    /// The tenant's role, if it exists (tenant_roles_repair recreates a missing one).  A
    /// role dropped or created since is seen: any change to pg_authid empties the cache.
    pub(crate) fn role(&self) -> Option<pg_sys::Oid> {
        if let Some(role) = self.role.get() {
            return *role;
        }
        // Not inside get_or_init: the scan in tenant_role_oid may fill this entry's cell too.
        let role = tenant_role_oid(&crate::slug::role_name(self.slug(), self.id));
        *self.role.get_or_init(|| role)
    }

    /// The oid of the tenant's schema, None if it is missing.  An oid survives a rename
    /// of the schema, so a lock on it is a lock on the tenant's content.
    pub(crate) fn schema_oid(&self) -> Option<pg_sys::Oid> {
        self.schema_oid
    }

    /// Calls `f` with the tenant's search_path under the current `stash.shared_schemas`.
    pub(crate) fn with_search_path<R>(&self, f: impl FnOnce(&CStr) -> R) -> R {
        let generation = shared_generation();
        let mut memo = self.path.borrow_mut();
        if memo
            .as_ref()
            .is_none_or(|(built_in, _)| *built_in != generation)
        {
            let shared = settings::shared_schemas_cstr().to_string_lossy();
            let path = settings::search_path(&self.quoted_schema, &shared);
            *memo = Some((
                generation,
                CString::new(path).or_raise("GUC values never contain NUL"),
            ));
        }
        f(&memo.as_ref().or_raise("just built").1)
    }
}

/// A number that changes whenever `stash.shared_schemas` does: the entries' search_paths
/// remember it instead of each keeping a copy of the setting.
fn shared_generation() -> u64 {
    SHARED.with(|seen| {
        let current = settings::shared_schemas_cstr();
        let mut seen = seen.borrow_mut();
        if seen.0.as_c_str() != current {
            *seen = (current.to_owned(), seen.1 + 1);
        }
        seen.1
    })
}

#[derive(Default)]
struct AppRoles {
    /// Each application role, and whether it may enter only by token.
    oids: FxHashMap<pg_sys::Oid, bool>,
    generation: Option<u64>,
}

#[derive(Default)]
struct Tenants {
    /// The entries themselves, found by [`slug_hash`] and compared with each entry's own
    /// inline slug: a lookup hashes a few bytes and reads one 8-byte slot before the entry
    /// it needs anyway (a map keyed by a padded copy of the slug was a sixth of an enter
    /// among 10,000 tenants, bench/findings.md).
    by_slug: hashbrown::HashTable<Rc<Entry>>,
    by_id: FxHashMap<[u8; 16], Rc<Entry>>,
    /// Each dropped entry's `entered_in`, until an entry for the tenant is cached again.
    entered: FxHashMap<[u8; 16], u64>,
    /// The invalidation generation these entries are valid for.
    generation: u64,
    /// Whether the entries are the whole registry as of `generation`: then a key that is
    /// not here is no tenant, without asking.
    complete: bool,
    /// Whether a fill of the whole registry was tried in `generation` (and was too big).
    fill_tried: bool,
    /// Misses in `generation`.
    misses: u32,
}

impl Tenants {
    fn get(&self, key: &Key) -> Option<Rc<Entry>> {
        match key {
            Key::Slug(s) => {
                let s = s.as_bytes();
                self.by_slug
                    .find(slug_hash(s), |e| e.slug_bytes() == s)
                    .cloned()
            }
            Key::Id(id) => self.by_id.get(id.as_bytes()).cloned(),
        }
    }

    fn insert(&mut self, tenant: Tenant, entry: Rc<Entry>) {
        if let Some(epoch) = self.entered.remove(tenant.id.as_bytes()) {
            entry.entered_in.set(epoch);
        }
        self.by_id.insert(*tenant.id.as_bytes(), entry.clone());
        let hash = slug_hash(entry.slug_bytes());
        let probe = entry.clone();
        match self.by_slug.entry(
            hash,
            |e| e.slug_bytes() == probe.slug_bytes(),
            |e| slug_hash(e.slug_bytes()),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut o) => *o.get_mut() = entry,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(entry);
            }
        }
    }

    fn clear(&mut self) {
        // The catalog caches did not change with the registry: keep what memory.rs knows
        // of which tenants' entries are loaded, for the entries that replace these.
        self.entered.extend(
            self.by_id
                .iter()
                .filter(|(_, e)| e.entered_in.get() != 0)
                .map(|(id, e)| (*id, e.entered_in.get())),
        );
        self.by_slug.clear();
        self.by_id.clear();
        self.complete = false;
    }
}

thread_local! {
    /// The last `stash.shared_schemas` seen, and its generation ([`shared_generation`]).
    static SHARED: RefCell<(CString, u64)> = RefCell::new((CString::default(), 0));
    static TENANTS: RefCell<Tenants> = RefCell::new(Tenants::default());
    static APP_ROLES: RefCell<AppRoles> = RefCell::new(AppRoles::default());
}

/// `Some(token_required)` if `role` is a registered application role (exactly that
/// role: membership in one does not count), None for any other role.  Like [`lookup`],
/// trusts the caller to have drained the invalidation queue ([`accept_invalidations`]).
pub(crate) fn app_role(role: pg_sys::Oid) -> Option<bool> {
    let generation = invalidation::generation();
    let fresh = APP_ROLES.with(|a| a.borrow().generation == Some(generation));
    if !fresh {
        // At the latest snapshot: a removal committed after this transaction's snapshot
        // must count.  A role that became a superuser or BYPASSRLS since it was
        // registered (or a new role with a registered name) does not count.  Read without
        // SPI (a scan of the small table, the roles from the syscache): through the
        // pg_roles view this was most of a fresh connection's first tenant_enter.
        let oids: FxHashMap<pg_sys::Oid, bool> = crate::catalog::registry::app_roles_at_latest()
            .into_iter()
            .filter_map(|(name, token)| {
                let oid = objects::role_oid(&name)?;
                (objects::role_is_above_walls(oid) == Some(false)).then_some((oid, token))
            })
            .collect();
        APP_ROLES.with(|a| {
            let mut a = a.borrow_mut();
            a.oids = oids;
            // an invalidation during the read may cover what it returned: read again next time
            a.generation = (invalidation::generation() == generation).then_some(generation);
        });
    }
    APP_ROLES.with(|a| a.borrow().oids.get(&role).copied())
}

thread_local! {
    /// Every tenant role's oid by name, read in one scan of pg_authid, and the
    /// invalidation generation it is valid for (any change to pg_authid bumps it).
    static TENANT_ROLES: RefCell<Option<(u64, HashMap<String, pg_sys::Oid>)>> =
        const { RefCell::new(None) };
}

/// The oid of tenant role `name`.  Once this backend holds the whole registry (it enters
/// many tenants), from one scan of every tenant role instead of a syscache miss — an
/// index scan of pg_authid — at each tenant's first enter: among 10,000 tenants those
/// misses were most of what fresh connections paid over warm ones (bench/findings.md).
fn tenant_role_oid(name: &str) -> Option<pg_sys::Oid> {
    let generation = invalidation::generation();
    let complete = TENANTS.with(|c| {
        let c = c.borrow();
        c.complete && c.generation == generation
    });
    if !complete {
        return objects::role_oid(name);
    }
    let known = TENANT_ROLES.with(|r| match &*r.borrow() {
        Some((g, roles)) if *g == generation => Some(roles.get(name).copied()),
        _ => None,
    });
    let found = match known {
        Some(found) => found,
        None => {
            let roles = objects::roles_with_prefix(crate::slug::ROLE_PREFIX);
            let found = roles.get(name).copied();
            // an invalidation during the scan may cover what it returned: keep it only if none came
            if invalidation::generation() == generation {
                // Every cached tenant gets its role now, so that no tenant's first enter
                // builds a role name and looks it up (an eighth of an enter among 10,000
                // tenants in a fresh connection, bench/findings.md).  Roles missing from the
                // scan are left to the lookup below, which sees this transaction's changes.
                TENANTS.with(|c| {
                    for entry in c.borrow().by_slug.iter() {
                        if entry.role.get().is_none() {
                            let name = crate::slug::role_name(entry.slug(), entry.id);
                            if let Some(&oid) = roles.get(&name) {
                                let _ = entry.role.set(Some(oid));
                            }
                        }
                    }
                });
                TENANT_ROLES.with(|r| *r.borrow_mut() = Some((generation, roles)));
            }
            found
        }
    };
    // not in the scan: ask the syscache, which also sees this transaction's own changes
    found.or_else(|| objects::role_oid(name))
}

/// The tenant for `key`, from the cache or the registry; None if there is no such tenant.
/// Call [`accept_invalidations`] first.
pub(crate) fn lookup(key: &Key) -> Option<Rc<Entry>> {
    let generation = invalidation::generation();
    let (hit, complete, fill) = TENANTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation != generation {
            c.clear();
            c.generation = generation;
            c.fill_tried = false;
            c.misses = 0;
        }
        let hit = c.get(key);
        if hit.is_none() {
            c.misses += 1;
        }
        let fill = !c.complete && !c.fill_tried && c.misses >= FILL_AFTER_MISSES;
        (hit, c.complete, fill)
    });
    if hit.is_some() || complete {
        return hit;
    }
    // Under REPEATABLE READ / SERIALIZABLE, SPI may read with the transaction's older
    // snapshot (once the transaction has written), so what it reads is not safe to keep.
    let cacheable = backend::snapshot_per_statement();
    if cacheable && fill {
        let all = with_latest_snapshot(|| registry::all(FILL_LIMIT));
        TENANTS.with(|c| {
            let mut c = c.borrow_mut();
            c.fill_tried = true;
            // An invalidation that arrived during the read may cover what it returned.
            if c.generation != invalidation::generation() {
                return;
            }
            if let Some(all) = all {
                c.clear();
                for tenant in all {
                    let entry = Rc::new(Entry::new(&tenant));
                    c.insert(tenant, entry);
                }
                c.complete = true;
            }
        });
        let (hit, complete) = TENANTS.with(|c| {
            let c = c.borrow();
            (c.get(key), c.complete && c.generation == generation)
        });
        if hit.is_some() || complete {
            return hit;
        }
    }
    let tenant = registry::find_latest(key)?;
    let entry = Rc::new(Entry::new(&tenant));
    if !cacheable {
        return Some(entry);
    }
    TENANTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation != invalidation::generation() {
            return;
        }
        if c.by_slug.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(tenant, entry.clone());
    });
    Some(entry)
}
