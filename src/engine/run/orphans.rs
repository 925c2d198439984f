//! Orphans: instances state has and the configuration does not (or that a destroy removes), planned and deleted in reverse dependency order; `removed` blocks' forgets; moved blocks left with nothing to do.

use super::*;

impl Runner<'_> {
    /// The candidates `-target`/`-exclude` leave in. A plan acts on an object the
    /// configuration lost only when a target names it (or no exclusion does). A destroy
    /// deletes what the targets name and whatever state records as depending on it; with
    /// exclusions, it keeps what they name and whatever that depends on.
    fn targeted_orphans(
        &self,
        candidates: Vec<(InstanceAddr, InstanceState)>,
    ) -> Vec<(InstanceAddr, InstanceState)> {
        let t = &self.targeting;
        if t.is_whole() {
            return candidates;
        }
        if !self.run.destroying() {
            return candidates
                .into_iter()
                .filter(|(a, _)| t.includes(a))
                .collect();
        }
        // Resources (configuration addresses) in the set, grown along recorded dependencies.
        let grow = |seed: BTreeSet<String>, towards_dependents: bool| {
            let mut set = seed;
            loop {
                let before = set.len();
                for (a, s) in &candidates {
                    let me = a.config_resource();
                    if towards_dependents {
                        if s.dependencies.iter().any(|d| set.contains(d)) {
                            set.insert(me);
                        }
                    } else if set.contains(&me) {
                        set.extend(s.dependencies.iter().cloned());
                    }
                }
                if set.len() == before {
                    return set;
                }
            }
        };
        if t.excludes.is_empty() {
            let named: Vec<&InstanceAddr> = candidates
                .iter()
                .map(|(a, _)| a)
                .filter(|a| t.includes(a))
                .collect();
            let dependents = grow(named.iter().map(|a| a.config_resource()).collect(), true);
            // A dependent resource goes whole; a target with a key only takes that instance.
            let direct: BTreeSet<String> = named.iter().map(|a| a.config_resource()).collect();
            candidates
                .into_iter()
                .filter(|(a, _)| {
                    t.includes(a)
                        || (dependents.contains(&a.config_resource())
                            && !direct.contains(&a.config_resource()))
                })
                .collect()
        } else {
            let excluded: BTreeSet<String> = candidates
                .iter()
                .filter(|(a, _)| !t.includes(a))
                .map(|(a, _)| a.config_resource())
                .collect();
            let kept = grow(excluded, false);
            candidates
                .into_iter()
                .filter(|(a, _)| t.includes(a) && !kept.contains(&a.config_resource()))
                .collect()
        }
    }

    pub(super) async fn orphans(&self) -> Result<(), Vec<EngineError>> {
        let in_config = |a: &InstanceAddr| {
            self.graph
                .block(&a.config_resource())
                .is_some_and(|(_, b)| b.mode == Mode::Managed)
        };
        let (desired, completed) = {
            let c = lock(&self.collected);
            (c.desired.clone(), c.completed.clone())
        };
        let candidates: Vec<(InstanceAddr, InstanceState)> = {
            let store = self.recorder.state().await;
            store
                .state
                .instances
                .iter()
                .filter(|(a, _)| a.mode == Mode::Managed)
                .filter(|(a, _)| match self.run.mode {
                    PlanMode::Destroy => true,
                    _ => {
                        !in_config(a)
                            || (completed.contains(&a.config_resource()) && !desired.contains(a))
                    }
                })
                .map(|(a, s)| (a.clone(), s.clone()))
                .collect()
        };
        let candidates = self.targeted_orphans(candidates);
        // Objects creates of earlier runs made and never recorded, at addresses this run
        // deletes: found by their intents, deleted with the rest.
        let left_behind = self
            .left_behind(|a| match self.run.mode {
                PlanMode::Destroy => true,
                _ => {
                    !in_config(a)
                        || (completed.contains(&a.config_resource()) && !desired.contains(a))
                }
            })
            .await?;
        if candidates.is_empty() && left_behind.is_empty() {
            return Ok(());
        }
        let unrecorded: BTreeSet<InstanceAddr> =
            left_behind.iter().map(|l| l.addr.clone()).collect();
        // Plan each: refresh (not when destroying), check prevent_destroy.
        let mut to_delete: Vec<(InstanceAddr, InstanceState, Arc<dyn ResourceType>)> = Vec::new();
        let mut errors = Vec::new();
        for (addr, inst) in candidates {
            match self.plan_orphan(&addr, &inst).await {
                Ok(Some((live, rt))) => to_delete.push((
                    addr,
                    InstanceState {
                        attributes: live,
                        ..inst
                    },
                    rt,
                )),
                // Already gone outside forge: nothing to delete; the state forgets it.
                Ok(None) if self.phase.applying() && self.run.normal() => {
                    if let Err(e) = self.recorder.record(&addr, None).await {
                        errors.push(e);
                    }
                }
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if self.run.refresh_only() {
            return Ok(());
        }
        // Deleted before everything state records: nothing was made to use them, and
        // they may use what state records (a profile its role).
        let recorded: Vec<String> = to_delete
            .iter()
            .map(|(a, _, _)| a.config_resource())
            .collect();
        for l in left_behind {
            let own = l.addr.config_resource();
            to_delete.push((
                l.addr,
                InstanceState {
                    provider: l.provider,
                    attributes: l.object,
                    dependencies: recorded.iter().filter(|r| **r != own).cloned().collect(),
                    schema_version: l.rt.schema().version,
                },
                l.rt,
            ));
        }
        if self.phase.planning() {
            let live_modules: BTreeSet<ModPath> = lock(&self.expansions)
                .values()
                .flatten()
                .map(|i| i.path.clone())
                .collect();
            let mut c = lock(&self.collected);
            for (addr, inst, rt) in to_delete {
                let reason = match self.run.mode {
                    PlanMode::Destroy => None,
                    _ if !addr.module.is_empty() && !live_modules.contains(&addr.module) => {
                        Some(ChangeReason::DeleteBecauseNoModule)
                    }
                    _ if in_config(&addr) => self
                        .graph
                        .block(&addr.config_resource())
                        .map(|(_, b)| crate::refactor::orphan_key_reason(b, &addr.key)),
                    _ => Some(ChangeReason::DeleteBecauseNoResourceConfig),
                };
                let action = if self.forgets(&addr) {
                    Action::Forget
                } else {
                    Action::Delete
                };
                let moved_from = c.moves.get(&addr).cloned();
                // Typed as the plan shows values: state holds maps as objects.
                let before = crate::schema_util::typed(rt.schema(), &inst.attributes);
                c.changes.push(ResourceChange {
                    addr,
                    action,
                    before: Some(before),
                    after: None,
                    requires_replace: Vec::new(),
                    reason,
                    moved_from,
                    importing: None,
                });
            }
            return Ok(());
        }
        // Objects a removed block lets go of leave the state and stay where they are.
        let (forget, to_delete): (Vec<_>, Vec<_>) =
            to_delete.into_iter().partition(|(a, _, _)| self.forgets(a));
        for (addr, inst, _) in forget {
            self.check_planned(&addr, Action::Forget)
                .map_err(|e| vec![e])?;
            self.recorder
                .record(&addr, None)
                .await
                .map_err(|e| vec![e])?;
            if unrecorded.contains(&addr) {
                self.recorder.intents.settle(&addr.to_string());
            }
            let moved_from = lock(&self.collected).moves.get(&addr).cloned();
            lock(&self.collected).changes.push(ResourceChange {
                addr,
                action: Action::Forget,
                before: Some(inst.attributes),
                after: None,
                requires_replace: Vec::new(),
                reason: None,
                moved_from,
                importing: None,
            });
        }
        for (addr, _, _) in &to_delete {
            if let Err(e) = self.check_planned(addr, Action::Delete) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Delete in reverse dependency order: an object goes after everything that used it.
        // An instance state records no dependencies for (one `import` wrote) takes its
        // configuration's, as Terraform's destroy does after its plan wrote them to state:
        // a user is deleted after its policy attachment even when both were imported.
        let depends_on = |addr: &InstanceAddr, inst: &InstanceState, with_config: bool| {
            let mut all: BTreeSet<String> = inst.dependencies.iter().cloned().collect();
            if with_config
                && inst.dependencies.is_empty()
                && let Some(n) = self.graph.node_named(&addr.config_resource())
            {
                all.extend(self.graph.resource_dependencies(n));
            }
            all
        };
        let edges = |with_config: bool| -> Vec<Vec<usize>> {
            to_delete
                .iter()
                .map(|(a, inst, _)| {
                    let on = depends_on(a, inst, with_config);
                    to_delete
                        .iter()
                        .enumerate()
                        .filter(|(_, (b, _, _))| b != a && on.contains(&b.config_resource()))
                        .map(|(j, _)| j)
                        .collect()
                })
                .collect()
        };
        // The configuration may have turned an edge round since state recorded it: then
        // state's order alone, which never has a cycle.
        let with_config = edges(true);
        let deps = if crate::walk::has_cycle(&with_config) {
            edges(false)
        } else {
            with_config
        };
        let order = reversed(&deps);
        let unrecorded = &unrecorded;
        let outcomes = walk(&order, self.run.ctx.parallelism, |i| {
            let (addr, inst, rt) = &to_delete[i];
            async move {
                self.call(addr, OpKind::Destroying, true, rt.delete(&inst.attributes))
                    .await?;
                self.recorder.record(addr, None).await?;
                // Only a left-behind object's own intent: a replacement's intent at an
                // address state records stays until its object is found.
                if unrecorded.contains(addr) {
                    self.recorder.intents.settle(&addr.to_string());
                }
                let moved_from = lock(&self.collected).moves.get(addr).cloned();
                lock(&self.collected).changes.push(ResourceChange {
                    addr: addr.clone(),
                    action: Action::Delete,
                    before: Some(inst.attributes.clone()),
                    after: None,
                    requires_replace: Vec::new(),
                    reason: None,
                    moved_from,
                    importing: None,
                });
                Ok::<(), EngineError>(())
            }
        })
        .await;
        let errors: Vec<EngineError> = outcomes
            .into_iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                NodeOutcome::Failed(e) => Some(e),
                NodeOutcome::Skipped(_) => Some(EngineError::new(
                    ErrorKind::Provider,
                    format!(
                        "{}: not deleted because an object that depends on it could not be deleted",
                        to_delete[i].0
                    ),
                )),
                NodeOutcome::Done(()) => None,
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// True when a `removed` block with `destroy = false` covers this orphan.
    pub(super) fn forgets(&self, addr: &InstanceAddr) -> bool {
        self.run.normal() && self.refactor.removed_for(addr).is_some_and(|r| !r.destroy)
    }

    /// After the walk: moved blocks whose source the configuration still declares (an
    /// instance key checked once count/for_each are known), and import blocks whose
    /// target is not an instance the configuration declares.
    pub(super) fn refactoring_leftovers(&self) -> Vec<EngineError> {
        let modules: Vec<ModPath> = lock(&self.expansions)
            .values()
            .flatten()
            .map(|i| i.path.clone())
            .collect();
        let c = lock(&self.collected);
        let mut errors = Vec::new();
        for (old, block) in self.refactor.instance_sources(&modules) {
            if c.desired.contains(&old) {
                errors.push(
                    EngineError::new(ErrorKind::Configuration, format!("unit {}: a moved block moves {old} away, but the configuration still declares it", self.unit_name()))
                        .cause(format!("moved block at {}", block.location))
                        .hint(format!("change count/for_each so the object is declared only as {}, or remove the moved block", block.to.text)),
                );
            }
        }
        if self.run.normal() {
            for (to, at) in &self.refactor.import_targets() {
                if c.completed.contains(&to.config_resource())
                    && !c.desired.contains(to)
                    && lock(&self.expansions)
                        .values()
                        .flatten()
                        .any(|i| i.path == to.module)
                {
                    errors.push(EngineError::config(
                        format!("unit {}: the import block's target {to} is not an instance the configuration declares", self.unit_name()),
                        Diagnostic::error(format!("{to} is not in the resource's count/for_each")).at(at.clone()).hint("use a key the resource's count or for_each has").into(),
                    ));
                }
            }
        }
        errors
    }

    /// Refreshes an orphan; `None` when it is already gone (or refresh-only).
    pub(super) async fn plan_orphan(
        &self,
        addr: &InstanceAddr,
        inst: &InstanceState,
    ) -> Result<Option<(Value, Arc<dyn ResourceType>)>, EngineError> {
        let block = self
            .graph
            .block(&addr.config_resource())
            .map(|(_, b)| b)
            .filter(|b| b.mode == Mode::Managed);
        if let Some(b) = block
            && b.lifecycle.prevent_destroy
        {
            return Err(prevent_destroy_error(&addr.to_string(), b));
        }
        let rt = self.resource_type_for(addr, &inst.provider).await?;
        let recorded = super::resources::recorded_value(rt.as_ref(), addr, inst)?;
        if self.run.destroying() || !self.run.refresh {
            return Ok(Some((recorded, rt)));
        }
        let live = self.refresh(rt.as_ref(), addr, &recorded).await?;
        if self.run.refresh_only() {
            return Ok(None);
        }
        Ok(live.map(|v| (v, rt)))
    }

    /// The resource type of an object state (or a create intent) records with
    /// `provider`, from the configured provider it names (the type's default provider
    /// when the text cannot be read).
    pub(super) async fn resource_type_for(
        &self,
        addr: &InstanceAddr,
        provider: &str,
    ) -> Result<Arc<dyn ResourceType>, EngineError> {
        let (name, alias) = parse_provider_address(provider)
            .unwrap_or_else(|| (provider_name_of(&addr.type_name).to_string(), None));
        let provider = self
            .provider_for(&format!("{name}_"), alias.as_deref())
            .await?;
        provider.resource_type(&addr.type_name).ok_or_else(|| {
            EngineError::new(ErrorKind::Configuration, format!("{addr}: the {name} provider has no resource type {}", addr.type_name))
                .hint(format!("remove it from state with `forge state rm {} {addr}` if the object is managed elsewhere", self.unit_name()))
        })
    }
}
