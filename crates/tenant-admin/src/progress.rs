//! Progress of long operations (import and export of large directories): the library reports,
//! the front end draws (`tenantctl` draws a bar when standard error is a terminal).

/// Receives progress reports. Every method does nothing by default; `()` reports nowhere.
pub trait Progress: Sync {
    /// A new stage begins: `label`, and how many units it has when known.
    fn stage(&self, _label: &str, _total: Option<u64>) {}
    /// `n` more units of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// The operation is over.
    fn finish(&self) {}
}

impl Progress for () {}
