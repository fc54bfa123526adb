//! The IR text form: `text::parse` on arbitrary text; what parses must print, parse again
//! and print the same text; what verifies as a kernel-only graph becomes a plan whose bytes
//! load back as the same plan, and runs through the VM within the budgets.

use super::{outcome, vm};
use mpcc_ir::plan::Plan;

/// Runs one input.
pub fn run(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let g = match mpcc_ir::text::parse(&text) {
        Err(e) => return outcome("parse", Err::<(), _>(e)),
        Ok(g) => g,
    };
    let printed = g.to_string();
    let again = mpcc_ir::text::parse(&printed)
        .unwrap_or_else(|e| panic!("printed graph does not parse: {e}\n{printed}"));
    assert_eq!(
        again.to_string(),
        printed,
        "print -> parse -> print changed the text"
    );
    if let Err(e) = g.verify(false) {
        return outcome("verify", Err::<(), _>(e));
    }
    let plan = match Plan::from_graph(g) {
        Err(e) => return outcome("plan", Err::<(), _>(e)),
        Ok(p) => p,
    };
    let bytes = plan.to_bytes();
    let back =
        Plan::from_bytes(&bytes).unwrap_or_else(|e| panic!("a built plan does not load: {e}"));
    assert_eq!(back, plan, "a plan's bytes load as another plan");
    vm::run(&plan, None)
}
