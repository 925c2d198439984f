//! Values: variables (given, defaulted, validated), outputs and their changes, and the scope updates that make them visible to what refers to them.

use super::*;

impl Runner<'_> {
    pub(super) fn variable(&self, m: usize, inst: &ModInst, v: usize) -> Result<(), EngineError> {
        let entry = &self.graph.modules[m];
        let var = &entry.module.variables[v];
        let place = self.place(&inst.path);
        // The root's variables come from the unit's inputs; a child's from its module
        // block's arguments, evaluated in the caller's instance.
        let given = match &entry.parent {
            None => self.run.inputs.get(&var.name).cloned(),
            Some((_, call)) => {
                match call.arguments.iter().find(|a| a.name == var.name) {
                    None => None,
                    Some(arg) => {
                        let caller = inst.path[..inst.path.len() - 1].to_vec();
                        let value = self.with_scope(&caller, |scope| {
                            in_instance_scope(scope, &inst.binding, |scope| eval(&arg.expr, scope))
                        });
                        Some(value.map_err(|d| diag_error(format!("{place}: the argument `{}` of module \"{}\" cannot be evaluated", var.name, call.name), d))?)
                    }
                }
            }
        };
        // Whether the value was given or defaulted (not a destroy's stand-in for a missing one).
        let mut set = true;
        let raw = match given {
            Some(x) if !x.is_null() || var.nullable => x,
            _ => match &var.default {
                Some(d) => d.clone(),
                None if self.run.destroying() => {
                    set = false;
                    Value::Unknown
                }
                None => {
                    let hint = match &entry.parent {
                        None => format!(
                            "add `{} = ...` to the inputs of {}",
                            var.name,
                            self.run.unit.config_file.display()
                        ),
                        Some((_, call)) => format!(
                            "set `{} = ...` in the module block at {}",
                            var.name, call.location
                        ),
                    };
                    return Err(diag_error(
                        format!("{place}: no value for the required variable `{}`", var.name),
                        Diagnostic::error(format!(
                            "variable `{}` has no default and is not set",
                            var.name
                        ))
                        .at(var.location.clone())
                        .hint(hint)
                        .into(),
                    ));
                }
            },
        };
        // A sensitive variable's value is converted marked, so a type error cannot quote it.
        let raw = if var.sensitive && !raw.is_null() {
            raw.sensitive()
        } else {
            raw
        };
        let value = var.ty.convert(raw).map_err(|m| {
            diag_error(
                format!(
                    "{place}: the value of variable `{}` does not fit its type",
                    var.name
                ),
                Diagnostic::error(format!("invalid value for variable `{}`: {m}", var.name))
                    .at(var.location.clone())
                    .into(),
            )
        })?;
        let value = if var.sensitive && !value.is_null() {
            value.sensitive()
        } else {
            value
        };
        if value.is_wholly_known() {
            // The module's scope so far (its graph put what the validation refers to before
            // this variable), plus the value being checked.
            let mut check_scope = self.with_scope(&inst.path, |s| s.clone());
            set_attr(&mut check_scope.roots, "var", &var.name, value.clone());
            for validation in &var.validations {
                let ok = eval(&validation.condition, &check_scope).map_err(|d| {
                    diag_error(
                        format!(
                            "{place}: the validation of variable `{}` cannot be evaluated",
                            var.name
                        ),
                        d,
                    )
                })?;
                if ok.as_bool() == Some(false) {
                    let message = eval(&validation.error_message, &check_scope)
                        .ok()
                        .and_then(|m| m.as_str().map(str::to_string))
                        .unwrap_or_else(|| "the validation condition is false".into());
                    return Err(diag_error(
                        format!("{place}: invalid value for variable `{}`", var.name),
                        Diagnostic::error(message)
                            .at(validation.condition.location())
                            .into(),
                    ));
                }
            }
        }
        if set && entry.parent.is_none() {
            lock(&self.collected)
                .variables
                .insert(var.name.clone(), value.clone());
        }
        self.with_scope(&inst.path, |scope| {
            set_attr(&mut scope.roots, "var", &var.name, value)
        });
        Ok(())
    }

    pub(super) fn output(&self, m: usize, inst: &ModInst, o: usize) -> Result<(), EngineError> {
        let entry = &self.graph.modules[m];
        // The root's outputs are the unit's, which a destroy removes; a child's still feed
        // the expressions of its caller.
        if entry.parent.is_none() && self.run.destroying() {
            return Ok(());
        }
        let place = self.place(&inst.path);
        let out = &entry.module.outputs[o];
        self.output_preconditions(out, inst)?;
        let value = self
            .with_scope(&inst.path, |scope| eval(&out.expr, scope))
            .map_err(|d| {
                diag_error(
                    format!("{place}: output `{}` cannot be evaluated", out.name),
                    d,
                )
            })?;
        if !out.sensitive && value.contains_sensitive() {
            return Err(diag_error(
                format!("{place}: output `{}` refers to sensitive values", out.name),
                Diagnostic::error(
                    "an output that shows a sensitive value must be marked sensitive",
                )
                .at(out.location.clone())
                .hint("add `sensitive = true` to the output block")
                .into(),
            ));
        }
        let value = if out.sensitive {
            value.sensitive()
        } else {
            value
        };
        match inst.path.split_last() {
            None => {
                if let Some(publish) = self.phase.publish()
                    && value.is_wholly_known()
                {
                    publish(&out.name, &value);
                }
                lock(&self.collected)
                    .outputs
                    .insert(out.name.clone(), value);
            }
            Some(((call, key), caller)) => {
                self.with_scope(&caller.to_vec(), |scope| {
                    set_module_output(&mut scope.roots, call, key.as_ref(), &out.name, value)
                });
            }
        }
        Ok(())
    }

    pub(super) async fn output_changes(
        &self,
        outputs: &BTreeMap<String, Value>,
    ) -> Vec<OutputChange> {
        let store = self.recorder.state().await;
        let before = &store.state.outputs;
        let mut changes = Vec::new();
        let after_all = match self.run.mode {
            PlanMode::Destroy => BTreeMap::new(),
            // A refresh-only run creates nothing, so an output still unknown depends on an
            // object that is gone: state will not record it (see finish_outputs). Showing it
            // as "known after apply" would be a change no apply ever makes, and the
            // refresh-only plan would never come back empty.
            PlanMode::RefreshOnly => outputs
                .iter()
                .filter(|(_, v)| v.is_wholly_known())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            PlanMode::Normal => outputs.clone(),
        };
        let names: BTreeSet<&String> = before.keys().chain(after_all.keys()).collect();
        for name in names {
            if self.output_left_out(name, &after_all) {
                continue;
            }
            let b = before.get(name).map(|o| o.value.clone());
            let a = after_all.get(name).cloned();
            let action = match (&b, &a) {
                (None, Some(_)) => Action::Create,
                (Some(_), None) => Action::Delete,
                (Some(x), Some(y)) if x.same_as(y) && y.is_wholly_known() => Action::NoOp,
                _ => Action::Update,
            };
            let sensitive = b.as_ref().is_some_and(Value::contains_sensitive)
                || a.as_ref().is_some_and(Value::contains_sensitive);
            changes.push(OutputChange {
                name: name.clone(),
                action,
                before: b,
                after: a,
                sensitive,
            });
        }
        changes
    }

    /// After a successful apply: the state records the outputs (none after destroy).
    /// True when `-target`/`-exclude` left out a root output the configuration still
    /// declares: it is neither changed nor removed.
    fn output_left_out(&self, name: &str, evaluated: &BTreeMap<String, Value>) -> bool {
        !self.targeting.is_whole()
            && !self.run.destroying()
            && !evaluated.contains_key(name)
            && self.run.unit.module.outputs.iter().any(|o| o.name == name)
    }

    pub(super) async fn finish_outputs(&self) -> Result<(), EngineError> {
        if self.phase.planning() {
            return Ok(());
        }
        let outputs = lock(&self.collected).outputs.clone();
        let mut store = self.recorder.state().await;
        // Outputs -target/-exclude did not evaluate keep what state has.
        let untouched: Vec<(String, OutputState)> = store
            .state
            .outputs
            .iter()
            .filter(|(name, _)| self.output_left_out(name, &outputs))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        store.state.outputs = match self.run.mode {
            PlanMode::Destroy => BTreeMap::new(),
            _ => outputs
                .into_iter()
                .filter(|(_, v)| v.is_wholly_known())
                .map(|(k, v)| {
                    let sensitive = v.contains_sensitive();
                    (
                        k,
                        OutputState {
                            value: v,
                            sensitive,
                        },
                    )
                })
                .chain(untouched)
                .collect(),
        };
        // Data sources are re-read every run: keep only those the configuration still has.
        let destroy = self.run.destroying();
        store.state.instances.retain(|a, _| {
            a.mode == Mode::Managed
                || (!destroy && self.graph.block(&a.config_resource()).is_some())
        });
        if self.phase.defers_outputs_write() {
            return Ok(());
        }
        // The unit's last write: the background writer has stopped, so it is made here.
        self.recorder.commit(store).await?;
        self.recorder.write_all().await
    }
}

pub(super) fn set_attr(roots: &mut BTreeMap<String, Value>, root: &str, name: &str, value: Value) {
    let entry = roots
        .entry(root.to_string())
        .or_insert_with(|| Value::Object(BTreeMap::new()));
    if !matches!(entry, Value::Object(_)) {
        *entry = Value::Object(BTreeMap::new());
    }
    if let Value::Object(m) = entry {
        m.insert(name.to_string(), value);
    }
}

/// Records a child module instance's output in its caller's `module.<call>` value (the
/// placeholder `expand_module` made: an object, a tuple under count, an object by key
/// under for_each).
fn set_module_output(
    roots: &mut BTreeMap<String, Value>,
    call: &str,
    key: Option<&InstanceKey>,
    output: &str,
    value: Value,
) {
    let Some(Value::Object(calls)) = roots.get_mut("module") else {
        return;
    };
    let Some(slot) = calls.get_mut(call) else {
        return;
    };
    let target = match (key, slot) {
        (None, v) => Some(v),
        (Some(InstanceKey::Int(i)), Value::Tuple(xs)) => {
            usize::try_from(*i).ok().and_then(|i| xs.get_mut(i))
        }
        (Some(InstanceKey::Str(k)), Value::Object(m)) => m.get_mut(k),
        _ => None,
    };
    if let Some(Value::Object(o)) = target {
        o.insert(output.to_string(), value);
    }
}
