//! What each backend keeps between statements: the settings (`stash.*` GUCs and the
//! tenant context they carry), the caches of the registry, and the bound on catalog-cache
//! memory.
pub(crate) mod cache;
pub(crate) mod entered;
pub(crate) mod memory;
pub(crate) mod settings;
