//! Which units a run leaves out because of their own Terragrunt settings: `skip = true`
//! leaves a unit out of every run, `prevent_destroy = true` out of a destroy. The others
//! go on; each unit left out is named in a notice that says why and where it is set.

use forge_config::Unit;

use crate::plan::PlanMode;

/// Why the unit sits this run out, if it does.
pub(crate) fn left_out(unit: &Unit, mode: PlanMode) -> Option<String> {
    if let Some(at) = &unit.settings.skip {
        return Some(format!("left out of this run: skip = true ({at})"));
    }
    if mode == PlanMode::Destroy
        && let Some(at) = &unit.settings.prevent_destroy
    {
        return Some(format!(
            "kept, not destroyed: prevent_destroy = true ({at})"
        ));
    }
    None
}
