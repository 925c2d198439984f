//! The runner's side of custom conditions (see `crate::checks`): a resource's or data
//! source's `precondition`s before its change is planned (or its data read) and its
//! `postcondition`s against the planned, applied or read object; an output's
//! `precondition`s before its value; and, once the walk is over, the `check` blocks with
//! their scoped data sources, whose failures are warnings.

use forge_config::{CheckBlock, Condition, Output};

use super::*;
use crate::checks::{
    CheckKind, CheckStatus, Outcome, Warning, condition_values, evaluate, instance_prefix, snippet,
};

impl Runner<'_> {
    /// The module instance's scope with `count`/`each` and, for a postcondition, `self`.
    fn condition_scope(
        &self,
        path: &ModPath,
        binding: &EachBinding,
        this: Option<&Value>,
    ) -> Scope<'static> {
        let mut scope = self.with_scope(path, |s| s.clone());
        if let Some((root, v)) = binding {
            scope.roots.insert((*root).to_string(), v.clone());
        }
        if let Some(v) = this {
            scope.roots.insert("self".to_string(), v.clone());
        }
        scope
    }

    /// Evaluates conditions in `scope`; the first that fails is the error. Every result is
    /// recorded for plan JSON's `checks`.
    fn conditions(
        &self,
        conds: &[Condition],
        scope: &Scope<'static>,
        what: &str,
        subject: (CheckKind, &str, &ModPath, &str, Option<InstanceKey>, String),
    ) -> Result<(), EngineError> {
        let (kind, name, module, display, key, instance) = subject;
        let mut status = CheckStatus::Pass;
        let mut failure = None;
        for cond in conds {
            match evaluate(cond, scope) {
                Ok(Outcome::Pass) => {}
                Ok(Outcome::Unknown) => status = status.max(CheckStatus::Unknown),
                Ok(Outcome::Fail(message)) => {
                    status = CheckStatus::Fail;
                    let values = condition_values(cond, scope);
                    failure = Some((message, crate::checks::failure_diagnostic(cond, &values)));
                    break;
                }
                Err(d) => {
                    return Err(diag_error(
                        format!(
                            "unit {}: {instance}: a {what} cannot be evaluated",
                            self.unit_name()
                        ),
                        d,
                    ));
                }
            }
        }
        let problems = failure.iter().map(|(m, _)| m.clone()).collect();
        self.checks.record(
            kind,
            name,
            module,
            display,
            key,
            instance.clone(),
            status,
            problems,
        );
        match failure {
            None => Ok(()),
            Some((message, d)) => Err(diag_error(
                format!(
                    "unit {}: {instance}: {what} failed: {message}",
                    self.unit_name()
                ),
                d,
            )),
        }
    }

    /// A resource's or data source's preconditions (`this` is `None`) or postconditions
    /// (`this` is the object).
    pub(super) fn resource_conditions(
        &self,
        rb: &ResourceBlock,
        addr: &InstanceAddr,
        binding: &EachBinding,
        this: Option<&Value>,
    ) -> Result<(), EngineError> {
        let (conds, what) = match this {
            None => (&rb.lifecycle.preconditions, "resource precondition"),
            Some(_) => (&rb.lifecycle.postconditions, "resource postcondition"),
        };
        if conds.is_empty() {
            return Ok(());
        }
        let scope = self.condition_scope(&addr.module, binding, this);
        let mode = if rb.mode == Mode::Data {
            "data"
        } else {
            "managed"
        };
        let kind = CheckKind::Resource {
            mode,
            type_name: rb.type_name.clone(),
        };
        self.conditions(
            conds,
            &scope,
            what,
            (
                kind,
                &rb.name,
                &addr.module,
                &rb.address(),
                addr.key.clone(),
                addr.to_string(),
            ),
        )
    }

    pub(super) fn output_preconditions(
        &self,
        out: &Output,
        inst: &ModInst,
    ) -> Result<(), EngineError> {
        if out.preconditions.is_empty() || self.run.destroying() {
            return Ok(());
        }
        let scope = self.condition_scope(&inst.path, &None, None);
        let display = format!("output.{}", out.name);
        let instance = format!("{}{display}", instance_prefix(&inst.path));
        self.conditions(
            &out.preconditions,
            &scope,
            "module output value precondition",
            (
                CheckKind::Output,
                &out.name,
                &inst.path,
                &display,
                None,
                instance,
            ),
        )
    }

    /// Every check block of every module instance. Not in a destroy, as Terraform.
    pub(super) async fn evaluate_checks(&self) {
        if self.run.destroying() {
            return;
        }
        for (m, entry) in self.graph.modules.iter().enumerate() {
            if entry.module.checks.is_empty() {
                continue;
            }
            let instances = lock(&self.expansions).get(&m).cloned().unwrap_or_default();
            for inst in &instances {
                for check in &entry.module.checks {
                    self.check_block(m, check, inst).await;
                }
            }
        }
    }

    async fn check_block(&self, m: usize, check: &CheckBlock, inst: &ModInst) {
        let root = &self.run.unit.module.dir;
        let context = format!("check \"{}\"", check.name);
        let display = format!("check.{}", check.name);
        let instance = format!("{}{display}", instance_prefix(&inst.path));
        let mut scope = self.condition_scope(&inst.path, &None, None);
        let mut status = CheckStatus::Pass;
        let mut problems = Vec::new();
        let mut data_failed = false;
        for rb in &check.data {
            let addr = InstanceAddr {
                module: inst.path.clone(),
                mode: Mode::Data,
                type_name: rb.type_name.clone(),
                name: rb.name.clone(),
                key: None,
            };
            match self.check_data(m, rb, &addr, &scope).await {
                Ok(v) => set_data(&mut scope, rb, v),
                Err((summary, detail)) => {
                    // As Terraform: the failure is the check's, reported as a warning, and
                    // the asserts (which would read the missing data) are not evaluated.
                    self.checks.warn(Warning {
                        summary: summary.clone(),
                        snippet: snippet(
                            root,
                            &rb.location,
                            &context,
                            Some(&addr.to_string()),
                            &[],
                        ),
                        detail: detail.clone(),
                    });
                    problems.push(if detail.is_empty() {
                        summary
                    } else {
                        format!("{summary}: {detail}")
                    });
                    status = CheckStatus::Fail;
                    data_failed = true;
                }
            }
        }
        for cond in check.asserts.iter().filter(|_| !data_failed) {
            let at = cond.condition.location();
            match evaluate(cond, &scope) {
                Ok(Outcome::Pass) => {}
                Ok(Outcome::Unknown) => {
                    status = status.max(CheckStatus::Unknown);
                    if self.phase.planning() {
                        let values = condition_values(cond, &scope);
                        self.checks.warn(Warning {
                            summary: "Check block assertion known after apply".into(),
                            snippet: snippet(root, &at, &context, None, &values),
                            detail: "The condition could not be evaluated at this time, a result will be known when this plan is applied.".into(),
                        });
                    }
                }
                Ok(Outcome::Fail(message)) => {
                    status = CheckStatus::Fail;
                    let values = condition_values(cond, &scope);
                    self.checks.warn(Warning {
                        summary: "Check block assertion failed".into(),
                        snippet: snippet(root, &at, &context, None, &values),
                        detail: message.clone(),
                    });
                    problems.push(message);
                }
                Err(d) => {
                    status = CheckStatus::Fail;
                    let detail = d
                        .iter()
                        .map(|x| x.summary.clone())
                        .collect::<Vec<_>>()
                        .join("\n");
                    self.checks.warn(Warning {
                        summary: "Check block assertion could not be evaluated".into(),
                        snippet: snippet(root, &at, &context, None, &[]),
                        detail: detail.clone(),
                    });
                    problems.push(detail);
                }
            }
        }
        self.checks.record(
            CheckKind::Check,
            &check.name,
            &inst.path,
            &display,
            None,
            instance,
            status,
            problems,
        );
    }

    /// Reads a check block's data source. While planning, it is listed as read again
    /// during apply (Terraform: "config will be reloaded to verify a check block") and its
    /// value goes to the prior state. A failure is `(summary, detail)` for the warning.
    async fn check_data(
        &self,
        m: usize,
        rb: &ResourceBlock,
        addr: &InstanceAddr,
        scope: &Scope<'static>,
    ) -> Result<Value, (String, String)> {
        let provider = async {
            let (_, alias) = self.graph.provider_of(m, rb)?;
            self.provider_for(&rb.type_name, alias.as_deref()).await
        }
        .await
        .map_err(|e| {
            (
                format!("{addr}: the provider cannot be configured"),
                e.message.clone(),
            )
        })?;
        let ds = provider.data_source(&rb.type_name).ok_or_else(|| {
            (
                format!("{addr} names an unknown data source"),
                format!(
                    "the {} provider has no data source `{}`",
                    provider_name_of(&rb.type_name),
                    rb.type_name
                ),
            )
        })?;
        let schema = ds.schema();
        let config = eval_body(&rb.body, scope)
            .map(|c| shape(schema, &c))
            .map_err(|d| {
                (
                    "Invalid data source configuration".to_string(),
                    d.iter()
                        .map(|x| x.summary.clone())
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            })?;
        let planning = self.phase.planning();
        let change = |after: Value, reason: ChangeReason| ResourceChange {
            addr: addr.clone(),
            action: Action::Read,
            before: None,
            after: Some(after),
            requires_replace: Vec::new(),
            reason: Some(reason),
            moved_from: None,
            importing: None,
        };
        if !config.is_wholly_known() {
            let after = unknown_object(schema, Some(&config));
            if planning {
                lock(&self.collected).changes.push(change(
                    after.clone(),
                    ChangeReason::ReadBecauseConfigUnknown,
                ));
            }
            return Ok(after);
        }
        let provider_id = Arc::as_ptr(&provider) as *const () as usize;
        let read = {
            let _permit = self
                .run
                .ctx
                .permits
                .acquire()
                .await
                .map_err(|_| ("the run was cancelled".to_string(), String::new()))?;
            self.run
                .ctx
                .data_reads
                .read(provider_id, ds.as_ref(), &config)
                .await
        };
        let value = match read {
            Ok((v, _)) => mark_sensitive(schema, v).mark_paths(&config.sensitive_paths()),
            Err(e) => {
                if planning {
                    // What Terraform's plan shows then: a read planned for apply, and the
                    // configuration (nothing read) in the prior state.
                    lock(&self.collected).changes.push(change(
                        to_be_read(schema, &config),
                        ChangeReason::ReadBecauseCheckNested,
                    ));
                    lock(&self.collected)
                        .data_reads
                        .push((addr.clone(), config.clone()));
                }
                return Err(provider_failure(&e));
            }
        };
        if planning {
            let mut c = lock(&self.collected);
            c.changes
                .push(change(value.clone(), ChangeReason::ReadBecauseCheckNested));
            c.data_reads.push((addr.clone(), value.clone()));
        }
        Ok(value)
    }
}

/// A provider's error as a warning's summary and detail: its code, or the part of its
/// message before the first ": ", is the summary.
fn provider_failure(e: &ProviderError) -> (String, String) {
    match (&e.code, e.message.split_once(": ")) {
        (Some(code), _) => (code.clone(), e.message.clone()),
        (None, Some((summary, detail))) => (summary.to_string(), detail.to_string()),
        (None, None) => ("Error reading data source".to_string(), e.message.clone()),
    }
}

/// A data source's object before it is read, as Terraform plans it: what the
/// configuration sets, computed attributes it leaves null unknown, the others null.
fn to_be_read(schema: &forge_provider::Schema, config: &Value) -> Value {
    let mut out = BTreeMap::new();
    for (name, a) in &schema.attributes {
        let v = config.get(name).cloned().unwrap_or(Value::Null);
        out.insert(
            name.clone(),
            if v.is_null() && a.computed {
                Value::Unknown
            } else {
                v
            },
        );
    }
    for name in schema.blocks.keys() {
        out.insert(
            name.clone(),
            config.get(name).cloned().unwrap_or(Value::List(Vec::new())),
        );
    }
    Value::Object(out)
}

fn set_data(scope: &mut Scope<'static>, rb: &ResourceBlock, value: Value) {
    let data = scope
        .roots
        .entry("data".to_string())
        .or_insert_with(|| Value::Object(BTreeMap::new()));
    if let Value::Object(m) = data {
        let by_type = m
            .entry(rb.type_name.clone())
            .or_insert_with(|| Value::Object(BTreeMap::new()));
        if let Value::Object(t) = by_type {
            t.insert(rb.name.clone(), value);
        }
    }
}
