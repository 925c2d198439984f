//! `forge plan -out FILE`: what a later `forge apply FILE` needs to apply exactly that
//! plan and to refuse it when the state moved on (lineage and serial per unit) or when
//! re-planning now would do anything else (`plan_promise`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::addr::InstanceAddr;
use crate::engine::ApplyTarget;
use crate::plan::{Action, EngineError, EnvPlan, ErrorKind, PlanMode, UnitOutcome};
use crate::plan_promise::{ChangePromise, PromiseDigest, Promised, promises};
use crate::targeting::Targeting;

const FORMAT: &str = "forge-plan/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    /// The environment (or unit) folder the plan was made for, canonical.
    pub dir: PathBuf,
    pub mode: PlanMode,
    pub units: Vec<SavedUnit>,
    /// The plan's `-target`, `-exclude` and `-replace` addresses: applying it re-plans
    /// each unit under its lock, with the same ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
    /// How `forge show FILE` presents each unit's plan (by unit name): written by the
    /// CLI when it saves the plan, never read by the engine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shown: BTreeMap<String, ShownUnit>,
    /// `shown` of each unit whose plan is encrypted (OpenTofu's `plan { method = ... }`,
    /// or Terragrunt's `remote_state { encryption }`): the unit's presentation holds the
    /// planned values, so it is kept only encrypted with the unit's plan key (OpenTofu's
    /// envelope, as a JSON string), by unit name. `encrypt_shown` / `decrypt_shown`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shown_encrypted: BTreeMap<String, String>,
    /// The salt of the promises' keyed digests (hex), and the id of the plan key they
    /// were made with (`plan_promise::PromiseDigest`). Empty in a plan of an earlier
    /// forge, which `targets` refuses.
    #[serde(default)]
    pub promise_salt: String,
    #[serde(default)]
    pub promise_key_id: String,
}

/// A unit's plan encryption, by unit name (`None`: the unit's plans are not encrypted).
pub type PlanCipherOf<'a> = dyn Fn(&str) -> Result<Option<std::sync::Arc<crate::encryption::TargetCipher>>, EngineError>
    + 'a;

/// One unit's plan as presented when it was saved: its text without colour, and
/// Terraform's plan document (`terraform show -json`'s shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShownUnit {
    pub text: String,
    pub document: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedUnit {
    pub unit: String,
    pub lineage: Option<String>,
    pub serial: u64,
    /// Whether applying writes the unit's state (a change, or data sources that read
    /// something new); named `has_changes` by forge before data reads were recorded.
    #[serde(alias = "has_changes")]
    pub writes_state: bool,
    /// (address, action) for every instance the plan considered.
    pub actions: Vec<(String, Action)>,
    /// What the plan promises for each change it shows: applying it re-plans the unit and
    /// refuses when the new plan breaks a promise (a plan file without them, from an
    /// earlier forge, is refused for every unit with changes).
    #[serde(default)]
    pub promises: BTreeMap<String, ChangePromise>,
}

impl SavedPlan {
    /// Refuses to save a plan with failed units: applying part of it would be a surprise.
    pub fn from_plan(dir: &Path, plan: &EnvPlan) -> Result<SavedPlan, EngineError> {
        let digest = PromiseDigest::for_new_plan(dir)?;
        let mut units = Vec::new();
        for (name, o) in &plan.units {
            match o {
                UnitOutcome::Done(p) => units.push(SavedUnit {
                    unit: name.clone(),
                    lineage: p.lineage.clone(),
                    serial: p.serial,
                    writes_state: p.writes_state(),
                    actions: p
                        .changes
                        .iter()
                        .map(|c| (c.addr.to_string(), c.action))
                        .collect(),
                    promises: promises(p, &digest),
                }),
                _ => {
                    return Err(EngineError::new(
                        ErrorKind::Request,
                        format!(
                            "the plan of unit {name} failed; a plan with errors cannot be saved"
                        ),
                    ));
                }
            }
        }
        Ok(SavedPlan {
            format: FORMAT.into(),
            dir: dir.to_path_buf(),
            mode: plan.mode,
            units,
            targets: Vec::new(),
            excludes: Vec::new(),
            replace: Vec::new(),
            shown: BTreeMap::new(),
            shown_encrypted: BTreeMap::new(),
            promise_salt: digest.salt_hex(),
            promise_key_id: digest.key_id(),
        })
    }

    /// Moves the presentation of each unit whose plan is encrypted into
    /// `shown_encrypted`, encrypted with that unit's plan key.
    pub fn encrypt_shown(&mut self, cipher_of: &PlanCipherOf<'_>) -> Result<(), EngineError> {
        let names: Vec<String> = self.shown.keys().cloned().collect();
        for name in names {
            let Some(cipher) = cipher_of(&name)?.filter(|c| c.encrypts()) else {
                continue;
            };
            let Some(shown) = self.shown.remove(&name) else {
                continue;
            };
            let plain = serde_json::to_vec(&shown).map_err(|e| {
                EngineError::new(
                    ErrorKind::Internal,
                    format!("cannot encode the plan of {name}: {e}"),
                )
            })?;
            let sealed = cipher.encrypt(&plain).map_err(|e| {
                EngineError::new(
                    ErrorKind::Configuration,
                    format!("cannot encrypt the plan of unit {name}"),
                )
                .cause(e.to_string())
            })?;
            self.shown_encrypted
                .insert(name, String::from_utf8_lossy(&sealed).into_owned());
        }
        Ok(())
    }

    /// Decrypts `shown_encrypted` back into `shown`, with each unit's plan key; an error
    /// names the unit when its key is missing or wrong.
    pub fn decrypt_shown(&mut self, cipher_of: &PlanCipherOf<'_>) -> Result<(), EngineError> {
        for (name, sealed) in std::mem::take(&mut self.shown_encrypted) {
            let cipher = cipher_of(&name)?.ok_or_else(|| {
                EngineError::new(
                    ErrorKind::Configuration,
                    format!("the plan of unit {name} is encrypted, and the unit configures no plan encryption to decrypt it"),
                )
                .hint("configure the unit's encryption as it was when the plan was saved")
            })?;
            let plain = cipher.decrypt(sealed.as_bytes()).map_err(|e| {
                EngineError::new(
                    ErrorKind::Configuration,
                    format!("cannot decrypt the plan of unit {name}"),
                )
                .cause(e.to_string())
            })?;
            let shown: ShownUnit = serde_json::from_slice(&plain).map_err(|e| {
                EngineError::new(
                    ErrorKind::Backend,
                    format!("the decrypted plan of unit {name} is damaged: {e}"),
                )
            })?;
            self.shown.insert(name, shown);
        }
        Ok(())
    }

    /// Records the run's `-target`/`-exclude`/`-replace`.
    pub fn with_targeting(mut self, t: &Targeting) -> SavedPlan {
        let texts =
            |list: &[crate::targeting::Address]| list.iter().map(|a| a.text.clone()).collect();
        self.targets = texts(&t.targets);
        self.excludes = texts(&t.excludes);
        self.replace = texts(&t.replace);
        self
    }

    /// The `-target`/`-exclude`/`-replace` the plan was made with.
    pub fn targeting(&self) -> Result<Targeting, EngineError> {
        Targeting::new(&self.targets, &self.excludes, &self.replace)
    }

    /// What to apply in each unit, with its promises; an error when they cannot be
    /// checked here (no plan key, another plan key, a plan of an earlier forge).
    pub fn targets(&self) -> Result<Vec<ApplyTarget>, EngineError> {
        let digest = PromiseDigest::for_saved(&self.dir, &self.promise_salt, &self.promise_key_id)?;
        Ok(self
            .units
            .iter()
            .map(|u| ApplyTarget {
                unit: u.unit.clone(),
                lineage: u.lineage.clone(),
                serial: u.serial,
                writes_state: u.writes_state,
                actions: u
                    .actions
                    .iter()
                    .filter_map(|(a, act)| InstanceAddr::parse(a).map(|addr| (addr, *act)))
                    .collect(),
                promises: Some(Promised {
                    digest: digest.clone(),
                    changes: u.promises.clone(),
                }),
            })
            .collect())
    }

    pub fn write(&self, path: &Path) -> Result<(), EngineError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| {
            EngineError::new(ErrorKind::Backend, format!("cannot encode the plan: {e}"))
        })?;
        // A plan names values of the state it was made against: private, like the state.
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        crate::private_file::write_atomic(path, Path::new(&tmp), text.as_bytes()).map_err(|e| {
            EngineError::new(
                ErrorKind::Backend,
                format!("cannot write the plan to {}", path.display()),
            )
            .cause(e.to_string())
        })
    }

    pub fn read(path: &Path) -> Result<SavedPlan, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            EngineError::new(
                ErrorKind::Backend,
                format!("cannot read the plan file {}", path.display()),
            )
            .cause(e.to_string())
        })?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| {
            EngineError::new(
                ErrorKind::Backend,
                format!("{} is not a forge plan file", path.display()),
            )
            .cause(e.to_string())
            .hint("make one with forge plan <env> -out FILE")
        })?;
        if plan.format != FORMAT {
            return Err(EngineError::new(
                ErrorKind::Backend,
                format!(
                    "{} is a plan of format {:?}; this forge reads {FORMAT}",
                    path.display(),
                    plan.format
                ),
            ));
        }
        Ok(plan)
    }
}

/// True when `path` looks like a saved plan rather than a folder.
pub fn is_plan_file(path: &Path) -> bool {
    path.is_file() && std::fs::read_to_string(path).is_ok_and(|t| t.contains(FORMAT))
}
