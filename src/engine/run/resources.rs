//! Managed resources: evaluating each instance's configuration, refreshing, diffing, and (applying) performing the operation and recording its result.

use super::*;

impl Runner<'_> {
    /// Evaluates count/for_each and each instance's configuration, shaped by the schema.
    pub(super) fn instances(
        &self,
        rb: &ResourceBlock,
        schema: &Schema,
        path: &ModPath,
    ) -> Result<Vec<(Option<InstanceKey>, EachBinding, Value)>, EngineError> {
        let addr = InstanceAddr {
            module: path.clone(),
            mode: rb.mode,
            type_name: rb.type_name.clone(),
            name: rb.name.clone(),
            key: None,
        }
        .resource();
        let what = format!("unit {}: {addr}", self.unit_name());
        let scopes = lock(&self.scopes);
        let Some(scope) = scopes.get(path) else {
            return Ok(Vec::new());
        };
        let keys = expansion_keys(rb.count.as_ref(), rb.for_each.as_ref(), scope, &what)?;
        let mut out = Vec::with_capacity(keys.len());
        let mut diags = Diagnostics::new();
        for (key, binding) in keys {
            match in_instance_scope(scope, &binding, |scope| eval_body(&rb.body, scope)) {
                Ok(config) => {
                    let shaped = shape(schema, &config);
                    for (name, a) in &schema.attributes {
                        if a.required && shaped.get(name).is_none_or(Value::is_null) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "{addr}: the required argument `{name}` is null"
                                ))
                                .at(rb.location.clone()),
                            );
                        }
                    }
                    out.push((key, binding.clone(), shaped));
                }
                Err(d) => diags.extend(d),
            }
        }
        if !diags.is_empty() {
            return Err(diag_error(
                format!("{what}: the configuration cannot be evaluated"),
                diags,
            ));
        }
        Ok(out)
    }

    /// One resource block in one module instance; `first` for the first instance of its
    /// module (schema problems are reported once, not per instance).
    pub(super) async fn resource(
        &self,
        rb: &ResourceBlock,
        node: usize,
        m: usize,
        inst: &ModInst,
        first: bool,
    ) -> Result<(), Vec<EngineError>> {
        let (provider, alias) = self.block_provider(m, rb).await?;
        let rt = provider
            .resource_type(&rb.type_name)
            .ok_or_else(|| vec![unknown_type(rb, provider.resource_type_names())])?;
        let config_addr = &self.graph.nodes[node].0;
        Self::check_block_schema(rt.schema(), rb, config_addr, first, || {
            format!(
                "unit {}: {config_addr} does not match the schema of {}",
                self.unit_name(),
                rb.type_name
            )
        })?;
        let mut instances = self
            .instances(rb, rt.schema(), &inst.path)
            .map_err(|e| vec![e])?;
        if !self.selection.whole[node] {
            // -target/-exclude name some instances only: the others are left as they are.
            instances.retain(|(key, _, _)| {
                self.targeting.includes(
                    &InstanceAddr::managed(&rb.type_name, &rb.name, key.clone())
                        .in_module(inst.path.clone()),
                )
            });
        }
        if self.run.normal() {
            // Import blocks with for_each say which of these instances they bring in.
            self.with_scope(&Vec::new(), |root| {
                self.refactor.expand_imports(config_addr, root)
            })
            .map_err(|e| e.into_iter().collect::<Vec<_>>())?;
        }
        let deps = self.graph.resource_dependencies(node);
        let provider_addr = provider_address(provider_name_of(&rb.type_name), alias.as_deref());
        let futures = instances.into_iter().map(|(key, binding, config)| {
            let addr =
                InstanceAddr::managed(&rb.type_name, &rb.name, key).in_module(inst.path.clone());
            let rt = rt.clone();
            let deps = deps.clone();
            let provider_addr = provider_addr.clone();
            async move {
                let result = self
                    .instance(
                        rb,
                        rt.as_ref(),
                        &addr,
                        (config, binding),
                        &deps,
                        &provider_addr,
                    )
                    .await;
                (addr, result)
            }
        });
        let results = join_all(futures).await;
        let mut errors = Vec::new();
        let mut values = Vec::new();
        {
            let mut c = lock(&self.collected);
            for (addr, r) in results {
                c.desired.insert(addr.clone());
                match r {
                    Ok(v) => values.push((addr.key, v)),
                    Err(e) => errors.push(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let value = collect_instances(rb, values);
        self.with_scope(&inst.path, |scope| {
            set_attr(&mut scope.roots, &rb.type_name, &rb.name, value)
        });
        Ok(())
    }

    /// Plans (and applies) one managed instance; returns its value for dependents.
    pub(super) async fn instance(
        &self,
        rb: &ResourceBlock,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        (config, binding): (Value, EachBinding),
        deps: &[String],
        provider_addr: &str,
    ) -> Result<Value, EngineError> {
        let schema = rt.schema();
        let recorded = self
            .recorder
            .state()
            .await
            .state
            .instances
            .get(addr)
            .map(|s| recorded_value(rt, addr, s))
            .transpose()?;
        if self.run.destroying() {
            return Ok(recorded.unwrap_or_else(|| unknown_object(schema, None)));
        }
        if self.run.normal() {
            self.resource_conditions(rb, addr, &binding, None)?;
        }
        // An import block's object is read by its id when state does not have it yet;
        // once it does, the block has nothing left to do (as in Terraform).
        let import = self
            .refactor
            .import_for(addr)
            .filter(|_| recorded.is_none() && self.run.normal());
        let (prior, import_id) = match (import, &recorded, self.run.refresh) {
            (Some(block), _, _) => {
                let (value, id) = self.import_object(rt, addr, &block).await?;
                (Some(value), Some(id))
            }
            (None, Some(r), true) => (self.refresh(rt, addr, r).await?, None),
            (None, r, _) => (r.clone(), None),
        };
        // A create an earlier run started and never recorded: adopt what it made.
        let adopting = prior.is_none() && import_id.is_none() && self.run.normal();
        let (prior, import_id, adopting) = if adopting {
            match self.settle_pending(rt, addr, &config).await? {
                Some((object, id)) => (Some(object), Some(id), true),
                None => (None, None, false),
            }
        } else {
            (prior, import_id, false)
        };
        if self.run.refresh_only() {
            return Ok(prior.unwrap_or_else(|| unknown_object(schema, None)));
        }
        let config = ignore_changes(&rb.lifecycle.ignore_changes, config, prior.as_ref());
        let addr_text = addr.to_string();
        let planned = rt
            .plan(prior.as_ref(), &config)
            .map_err(|e| EngineError::provider(&addr_text, "planning", &e))?;
        // -replace: replaced although nothing in the configuration asks for it.
        let replace_requested = prior.is_some() && self.targeting.replaces(addr);
        let (action, planned) = match &prior {
            None => (Action::Create, planned.planned),
            Some(_) if !planned.requires_replace.is_empty() || replace_requested => {
                let fresh = rt
                    .plan(None, &config)
                    .map_err(|e| EngineError::provider(&addr_text, "planning", &e))?;
                let action = if rb.lifecycle.create_before_destroy {
                    Action::CreateThenDelete
                } else {
                    Action::DeleteThenCreate
                };
                (action, fresh.planned)
            }
            Some(p) if !planned.planned.same_as(p) || !planned.planned.is_wholly_known() => {
                (Action::Update, planned.planned)
            }
            Some(_) => (Action::NoOp, planned.planned),
        };
        let planned = mark_sensitive(schema, planned);
        if action.is_replace() && rb.lifecycle.prevent_destroy {
            return Err(prevent_destroy_error(&addr_text, rb));
        }
        let change = ResourceChange {
            addr: addr.clone(),
            action,
            before: prior.clone(),
            after: Some(planned.clone()),
            requires_replace: if action.is_replace() {
                replace_reasons(rt, prior.as_ref(), &config)
            } else {
                Vec::new()
            },
            reason: action.is_replace().then_some(if replace_requested {
                ChangeReason::ReplaceByRequest
            } else {
                ChangeReason::ReplaceBecauseCannotUpdate
            }),
            moved_from: lock(&self.collected).moves.get(addr).cloned(),
            importing: import_id,
        };
        if self.phase.planning() {
            // Against the planned object: what only apply knows leaves the result unknown.
            self.resource_conditions(rb, addr, &binding, Some(&planned))?;
            lock(&self.collected).changes.push(change);
            return Ok(planned);
        }
        self.check_planned(addr, action)?;
        if matches!(
            action,
            Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete
        ) {
            self.delete_replaced_dependents(addr).await?;
        }
        let result = self
            .perform(
                rt,
                addr,
                action,
                prior.as_ref(),
                (&planned, &config),
                deps,
                provider_addr,
            )
            .await?;
        // An adopted object is in state now: its intent is settled.
        if adopting {
            self.created_recorded(rt, addr, &result).await;
        }
        self.recorder.intents.settle(&addr_text);
        let mut change = change;
        if let Some(deleted) = self.early_deleted.lock().await.get(addr) {
            // Deleted before a dependency changed: the plan's replacement, in two steps.
            change.action = Action::DeleteThenCreate;
            change.before = Some(deleted.clone());
        }
        lock(&self.collected).changes.push(change);
        // After the operation is recorded: a failure stops what depends on it.
        self.resource_conditions(rb, addr, &binding, Some(&result))?;
        Ok(result)
    }

    /// Reads the live object; records drift; in a refresh-only apply, writes it to state.
    pub(super) async fn refresh(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        recorded: &Value,
    ) -> Result<Option<Value>, EngineError> {
        let live = self
            .call(addr, OpKind::Reading, false, rt.read(recorded))
            .await?;
        let live =
            live.map(|v| mark_sensitive(rt.schema(), v).mark_paths(&recorded.sensitive_paths()));
        let drifted = match &live {
            None => true,
            Some(v) => !v.same_as(recorded),
        };
        if drifted {
            let typed = |v: &Value| crate::schema_util::typed(rt.schema(), v);
            lock(&self.collected).drift.push(Drift {
                addr: addr.clone(),
                before: typed(recorded),
                after: live.as_ref().map(typed),
            });
            if self.phase.applying() && self.run.refresh_only() {
                let mut store = self.recorder.state().await;
                match &live {
                    Some(v) => {
                        if let Some(inst) = store.state.instances.get_mut(addr) {
                            inst.attributes = to_state(rt.schema(), v);
                        }
                    }
                    None => {
                        store.state.instances.remove(addr);
                    }
                }
                self.recorder.commit(store).await?;
            }
        }
        Ok(live)
    }

    pub(super) fn check_planned(
        &self,
        addr: &InstanceAddr,
        action: Action,
    ) -> Result<(), EngineError> {
        let Some(planned) = self.phase.planned_actions() else {
            return Ok(());
        };
        if action == Action::NoOp || action == Action::Read {
            return Ok(());
        }
        let was = planned.get(addr).copied().unwrap_or(Action::NoOp);
        // Knowing more at apply time may make a planned replacement an update, never the
        // reverse; and a replaced object found gone by then (a change applied just before
        // took it away, or re-addressed it: an IAM group renamed under its policy
        // attachment) needs only the replacement's create, which the plan showed.
        let compatible = was == action
            || (was.is_replace()
                && (action.is_replace() || matches!(action, Action::Update | Action::Create)));
        if compatible {
            Ok(())
        } else {
            Err(EngineError::new(
                ErrorKind::Request,
                format!("{addr}: the plan said {was:?} but applying now needs {action:?}"),
            )
            .cause("the configuration or the infrastructure changed since the plan was made")
            .hint("run forge plan again and apply the new plan"))
        }
    }

    /// Performs one planned operation and writes the state after each provider call.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn perform(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        action: Action,
        prior: Option<&Value>,
        (planned, config): (&Value, &Value),
        deps: &[String],
        provider_addr: &str,
    ) -> Result<Value, EngineError> {
        let schema = rt.schema();
        let value_of =
            |v: &Value| mark_sensitive(schema, v.clone()).mark_paths(&planned.sensitive_paths());
        let record = |v: &Value| InstanceState {
            provider: provider_addr.to_string(),
            attributes: to_state(schema, &value_of(v)),
            dependencies: deps.to_vec(),
            schema_version: schema.version,
        };
        match (action, prior) {
            (Action::NoOp, Some(p)) => {
                // Nothing to do in AWS, but the state takes what refresh read (drift that
                // ignore_changes keeps) and the current dependencies.
                let mut store = self.recorder.state().await;
                if store.state.instances.get(addr).is_none_or(|s| {
                    s.dependencies != deps
                        || s.schema_version != schema.version
                        || !s.attributes.same_as(&to_state(schema, p))
                }) {
                    store.state.instances.insert(addr.clone(), record(p));
                    self.recorder.commit(store).await?;
                }
                Ok(p.clone())
            }
            (Action::Create, _) => {
                let made = self
                    .create_settled(rt, addr, planned, config, &record, None)
                    .await?;
                Ok(value_of(&made))
            }
            (Action::Update, Some(p)) => {
                let made = self
                    .call(addr, OpKind::Modifying, true, rt.update(p, planned))
                    .await?;
                self.recorder.record(addr, Some(record(&made))).await?;
                Ok(value_of(&made))
            }
            (Action::DeleteThenCreate, Some(p)) => {
                self.call(addr, OpKind::Destroying, false, rt.delete(p))
                    .await?;
                self.recorder.record(addr, None).await?;
                let made = self
                    .create_settled(rt, addr, planned, config, &record, None)
                    .await?;
                Ok(value_of(&made))
            }
            (Action::CreateThenDelete, Some(p)) => {
                let made = self
                    .create_settled(rt, addr, planned, config, &record, Some(p))
                    .await?;
                self.call(addr, OpKind::Destroying, false, rt.delete(p)).await.map_err(|e| {
                    e.hint(format!("the replacement of {addr} exists and is in state; the old object was not deleted: delete it by hand"))
                })?;
                Ok(value_of(&made))
            }
            (action, _) => Err(EngineError::new(
                ErrorKind::Request,
                format!("{addr}: cannot {action:?} an object that state does not record"),
            )),
        }
    }

    /// Reads the object an import block names, by its id (evaluated in the root module).
    pub(super) async fn import_object(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        import: &crate::refactor::ImportInstance,
    ) -> Result<(Value, String), EngineError> {
        let what = format!("unit {}: the import block for {addr}", self.unit_name());
        let block = &import.block;
        let id = self
            .with_scope(&Vec::new(), |scope| import.id(scope))
            .map_err(|d| diag_error(format!("{what}: its id cannot be evaluated"), d))?;
        let Some(id) = id
            .unmarked()
            .as_str()
            .map(str::to_string)
            .filter(|_| id.is_wholly_known())
        else {
            let why = if id.is_wholly_known() {
                format!("id is a {}, not a string", id.kind_name())
            } else {
                "id depends on values known only after apply".to_string()
            };
            return Err(diag_error(
                format!("{what}: invalid id"),
                Diagnostic::error(why).at(block.id.location()).hint("the id must be a string known when planning (a literal, a variable or a local)").into(),
            ));
        };
        // Terraform reports imports: "Preparing import..." while planning, "Importing... /
        // Import complete" while applying.
        let kind = if self.phase.applying() {
            OpKind::Importing
        } else {
            OpKind::PreparingImport
        };
        let found = self.call(addr, kind, true, rt.import(&id)).await?;
        let Some(value) = found else {
            return Err(EngineError::new(ErrorKind::Configuration, format!("{addr}: cannot import: no {} with id {id:?} exists", addr.type_name))
                .cause(format!("import block at {}", block.location))
                .hint("check the id: it is the one `terraform import` takes for this type (for aws_sqs_queue, the queue URL)"));
        };
        Ok((mark_sensitive(rt.schema(), value), id))
    }
}

/// A resource's value in scope: one object, a tuple (count) or an object by key (for_each).
pub(super) fn collect_instances(
    rb: &ResourceBlock,
    mut values: Vec<(Option<InstanceKey>, Value)>,
) -> Value {
    values.sort_by(|a, b| a.0.cmp(&b.0));
    if rb.count.is_some() {
        Value::Tuple(values.into_iter().map(|(_, v)| v).collect())
    } else if rb.for_each.is_some() {
        Value::Object(
            values
                .into_iter()
                .map(|(k, v)| (key_string(&k), v))
                .collect(),
        )
    } else {
        values
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or(Value::Null)
    }
}

/// The configuration with ignored attributes replaced by their live values.
pub(super) fn ignore_changes(
    ignore: &IgnoreChanges,
    config: Value,
    prior: Option<&Value>,
) -> Value {
    let Some(prior) = prior else { return config };
    match (ignore, config) {
        (IgnoreChanges::None, c) => c,
        (IgnoreChanges::All, Value::Object(mut m)) => {
            for (k, v) in m.iter_mut() {
                if let Some(p) = prior.get(k) {
                    *v = p.clone();
                }
            }
            Value::Object(m)
        }
        (IgnoreChanges::Attributes(names), Value::Object(mut m)) => {
            for name in names {
                if let Some(p) = prior.get(name) {
                    m.insert(name.clone(), p.clone());
                }
            }
            Value::Object(m)
        }
        (_, c) => c,
    }
}

pub(super) fn replace_reasons(
    rt: &dyn ResourceType,
    prior: Option<&Value>,
    config: &Value,
) -> Vec<String> {
    rt.plan(prior, config)
        .map(|p| p.requires_replace)
        .unwrap_or_default()
}

pub(super) fn prevent_destroy_error(addr: &str, rb: &ResourceBlock) -> EngineError {
    EngineError::new(ErrorKind::Configuration, format!("{addr} cannot be destroyed: its lifecycle has prevent_destroy = true"))
        .cause(format!("resource block at {}", rb.location))
        .hint("if destroying it is intended, set prevent_destroy = false first (or change the plan so it is not replaced)")
}

/// Imports an existing object by id into state under `addr`: configures the providers
/// (and what they refer to), reads the object and records it.
pub(crate) async fn import_instance(
    run: &UnitRun<'_>,
    store: StateStore,
    addr: &InstanceAddr,
    id: &str,
) -> Result<Value, EngineError> {
    if store.state.instances.contains_key(addr) {
        return Err(EngineError::new(
            ErrorKind::Request,
            format!("{addr} is already in the state of unit {}", run.unit.name),
        )
        .hint(format!(
            "remove it first with: forge state rm {} {addr}",
            run.unit.dir.display()
        )));
    }
    let graph = ModuleGraph::build(run.unit)?;
    let found = graph
        .block(&addr.config_resource())
        .filter(|(_, b)| b.mode == Mode::Managed)
        .map(|(m, b)| (m, b.clone()));
    let Some((m, block)) = found else {
        return Err(EngineError::new(
            ErrorKind::Request,
            format!(
                "unit {} has no resource block {}",
                run.unit.name,
                addr.config_resource()
            ),
        )
        .hint(format!(
            "add `resource \"{}\" \"{}\" {{ ... }}` to the module first, then import",
            addr.type_name, addr.name
        )));
    };
    let (_, alias) = graph.provider_of(m, &block)?;
    let block = &block;
    // Only the provider nodes and what they refer to.
    let mut needed = vec![false; graph.nodes.len()];
    let mut stack: Vec<usize> = (0..graph.nodes.len())
        .filter(|&i| matches!(graph.nodes[i].1, NodeKind::Provider(_)))
        .collect();
    while let Some(i) = stack.pop() {
        if !needed[i] {
            needed[i] = true;
            stack.extend(graph.deps[i].iter().copied());
        }
    }
    let deps: Vec<Vec<usize>> = graph.deps.clone();
    let runner = Runner::new(run, Phase::Apply(ApplyOptions::default()), graph, store);
    let outcomes = walk(&deps, run.ctx.parallelism, |i| {
        let runner = &runner;
        let needed = needed[i];
        async move { if needed { runner.node(i).await } else { Ok(()) } }
    })
    .await;
    for o in outcomes {
        if let NodeOutcome::Failed(mut es) = o {
            return Err(es.remove(0));
        }
    }
    let provider = runner
        .provider_for(&block.type_name, alias.as_deref())
        .await?;
    let rt = provider
        .resource_type(&block.type_name)
        .ok_or_else(|| unknown_type(block, provider.resource_type_names()))?;
    let found = runner
        .call(addr, OpKind::Reading, false, rt.import(id))
        .await?;
    let Some(value) = found else {
        return Err(EngineError::new(
            ErrorKind::Request,
            format!("{addr}: no {} with id {id:?} exists", block.type_name),
        )
        .hint("check the id: it is the one Terraform's import uses for this type"));
    };
    let value = mark_sensitive(rt.schema(), value);
    let inst = InstanceState {
        provider: provider_address(provider_name_of(&block.type_name), alias.as_deref()),
        attributes: to_state(rt.schema(), &value),
        dependencies: Vec::new(),
        schema_version: rt.schema().version,
    };
    runner.recorder.record(addr, Some(inst)).await?;
    // An import is the run's only operation: its state goes to the backend now, not
    // only to the journal (which the next run would take).
    runner.recorder.write_all().await?;
    Ok(value)
}

/// A recorded instance as its type's current shape: the attributes unwrapped from
/// state's spelling and, when an older provider release wrote them (a lower
/// `schema_version`), upgraded as that provider's state upgraders do.
pub(super) fn recorded_value(
    rt: &dyn ResourceType,
    addr: &InstanceAddr,
    inst: &InstanceState,
) -> Result<Value, EngineError> {
    let value = from_state(rt.schema(), &inst.attributes);
    if inst.schema_version == rt.schema().version {
        return Ok(value);
    }
    rt.upgrade_state(inst.schema_version, value)
        .map_err(|e| EngineError::provider(&addr.to_string(), "reading its state", &e))
}
