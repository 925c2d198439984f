//! Data sources: reading each instance (at plan time when its configuration is known, otherwise during apply), shared across units by `DataReads`.

use super::*;

impl Runner<'_> {
    pub(super) async fn data(
        &self,
        rb: &ResourceBlock,
        node: usize,
        m: usize,
        inst: &ModInst,
        first: bool,
    ) -> Result<(), Vec<EngineError>> {
        let (provider, alias) = self.block_provider(m, rb).await?;
        let ds = provider.data_source(&rb.type_name).ok_or_else(|| {
            vec![EngineError::config(
                format!(
                    "unit {}: {} names an unknown data source",
                    self.unit_name(),
                    rb.address()
                ),
                Diagnostic::error(format!(
                    "the {} provider has no data source `{}`",
                    provider_name_of(&rb.type_name),
                    rb.type_name
                ))
                .at(rb.location.clone())
                .into(),
            )]
        })?;
        Self::check_block_schema(ds.schema(), rb, &rb.address(), first, || {
            format!(
                "{}: {} does not match the schema of {}",
                self.place(&inst.path),
                rb.address(),
                rb.type_name
            )
        })?;
        let instances = self
            .instances(rb, ds.schema(), &inst.path)
            .map_err(|e| vec![e])?;
        let provider_addr = provider_address(provider_name_of(&rb.type_name), alias.as_deref());
        // As Terraform: a data source that depends (through references or `depends_on`)
        // on a managed resource with a change planned is read during apply, after that
        // change, so a plan never reads an object the same run is about to make or alter.
        let dependency_pending = self.phase.planning() && self.has_pending_dependency(node);
        let futures = instances.into_iter().map(|(key, binding, config)| {
            let addr = InstanceAddr {
                module: inst.path.clone(),
                mode: Mode::Data,
                type_name: rb.type_name.clone(),
                name: rb.name.clone(),
                key,
            };
            let ds = ds.clone();
            let provider_addr = provider_addr.clone();
            // The configured provider's identity: the cache key of its data reads.
            let provider_id = Arc::as_ptr(&provider) as *const () as usize;
            async move {
                let conditions = !self.run.destroying();
                if conditions && let Err(e) = self.resource_conditions(rb, &addr, &binding, None) {
                    return (addr.key.clone(), Err(e));
                }
                let r = self
                    .data_instance(
                        ds.as_ref(),
                        provider_id,
                        &addr,
                        config,
                        &provider_addr,
                        dependency_pending,
                    )
                    .await;
                let r = match r {
                    Ok(v) if conditions => self
                        .resource_conditions(rb, &addr, &binding, Some(&v))
                        .map(|()| v),
                    other => other,
                };
                (addr.key.clone(), r)
            }
        });
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for (key, r) in join_all(futures).await {
            match r {
                Ok(v) => values.push((key, v)),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let value = collect_instances(rb, values);
        self.with_scope(&inst.path, |scope| {
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
        });
        Ok(())
    }

    pub(super) async fn data_instance(
        &self,
        ds: &dyn DataSourceType,
        provider_id: usize,
        addr: &InstanceAddr,
        config: Value,
        provider_addr: &str,
        dependency_pending: bool,
    ) -> Result<Value, EngineError> {
        let schema = ds.schema();
        if self.run.destroying() {
            let recorded = self
                .recorder
                .state()
                .await
                .state
                .instances
                .get(addr)
                .map(|s| s.attributes.clone());
            return Ok(recorded.unwrap_or_else(|| unknown_object(schema, Some(&config))));
        }
        let deferred = if self.phase.applying() {
            None
        } else if !config.is_wholly_known() {
            Some(ChangeReason::ReadBecauseConfigUnknown)
        } else if dependency_pending {
            Some(ChangeReason::ReadBecauseDependencyPending)
        } else {
            None
        };
        if let Some(reason) = deferred {
            let after = unknown_object(schema, Some(&config));
            lock(&self.collected).changes.push(ResourceChange {
                addr: addr.clone(),
                action: Action::Read,
                before: None,
                after: Some(after.clone()),
                requires_replace: Vec::new(),
                reason: Some(reason),
                moved_from: None,
                importing: None,
            });
            return Ok(after);
        }
        let _permit = self
            .run
            .ctx
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::new(ErrorKind::Interrupted, "the run was cancelled"))?;
        let start = Instant::now();
        let (value, fresh) = self
            .run
            .ctx
            .data_reads
            .read(provider_id, ds, &config)
            .await
            .map_err(|e| EngineError::provider(&addr.to_string(), "reading", &e))?;
        if fresh {
            self.log_op(addr, OpKind::Reading, start, true);
        }
        let value = mark_sensitive(schema, value).mark_paths(&config.sensitive_paths());
        lock(&self.collected)
            .data_reads
            .push((addr.clone(), value.clone()));
        if value.is_wholly_known() {
            let mut store = self.recorder.state().await;
            let same = store
                .state
                .instances
                .get(addr)
                .is_some_and(|s| s.attributes.same_as(&to_state(schema, &value)));
            if !same && self.phase.planning() {
                // As Terraform: an apply records what its data sources read even when it
                // changes nothing else, so the state never keeps a stale read.
                lock(&self.collected).data_refreshed = true;
            }
            if !same && self.phase.applying() {
                store.state.instances.insert(
                    addr.clone(),
                    InstanceState {
                        provider: provider_addr.to_string(),
                        attributes: to_state(schema, &value),
                        dependencies: Vec::new(),
                        schema_version: schema.version,
                    },
                );
            }
        }
        Ok(value)
    }

    /// Whether a managed resource this node depends on, directly or transitively, has a
    /// change other than no-op planned so far (the walk has already planned every
    /// dependency when the node runs).
    fn has_pending_dependency(&self, node: usize) -> bool {
        let deps: BTreeSet<String> = self.graph.resource_dependencies(node).into_iter().collect();
        if deps.is_empty() {
            return false;
        }
        lock(&self.collected).changes.iter().any(|c| {
            c.addr.mode == Mode::Managed
                && !matches!(c.action, Action::NoOp)
                && deps.contains(&c.addr.config_resource())
        })
    }
}
