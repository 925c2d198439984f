//! Intent before action, in the runner: every create is first recorded as an intent
//! (`crate::intents`), and a create whose answer never arrived is settled by looking.
//!
//! Two ways an object can exist that state does not record: the run died while the
//! create was in flight (the next run finds the intent, `settle_pending`), or the answer
//! was lost after AWS acted and the SDK's retry was refused as "already exists"
//! (`create_settled`). Either way the provider finds the object that create would have
//! made (`ResourceType::find_created`) and it is adopted only when it is recognisably
//! that create's object (`adoptable`): found by the intent's own token, or by its name,
//! created no earlier than the intent, with every argument fixed at creation as
//! configured. Anything else stays an error that names the object and `forge import`.

use forge_provider::intent::{CLOCK_MARGIN, is_already_exists};
use forge_provider::{CreateIntent, Finding, Found, FoundBy};

use super::*;

/// What a create's call ended with.
pub(super) enum Created {
    Made(Value),
    /// The create's answer was lost and its retry refused; the object it made was found.
    Adopted(Found),
}

impl IdOf for Created {
    fn id_of(&self) -> Option<String> {
        match self {
            Created::Made(v) => v.id_of(),
            Created::Adopted(found) => Some(found.id.clone()),
        }
    }
}

impl IdOf for Finding {}

/// An object a create of an earlier run made and never recorded, found by its intent
/// for a run that deletes it (a destroy, or the resource left the configuration).
pub(super) struct LeftBehind {
    pub(super) addr: InstanceAddr,
    pub(super) provider: String,
    pub(super) object: Value,
    pub(super) rt: Arc<dyn ResourceType>,
}

impl Runner<'_> {
    /// For an address state does not record: the object an earlier run's create made
    /// before the run stopped, if its intent is pending and the object is found, as the
    /// prior object and its id (the plan shows it imported). `None`: nothing to adopt; the
    /// create goes ahead (with the intent's token).
    pub(super) async fn settle_pending(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        config: &Value,
    ) -> Result<Option<(Value, String)>, EngineError> {
        let addr_text = addr.to_string();
        let Some(pending) = self.recorder.intents.pending(&addr_text) else {
            return Ok(None);
        };
        if pending.type_name != rt.type_name() {
            return Ok(None);
        }
        let planned = rt
            .plan(None, config)
            .map_err(|e| EngineError::provider(&addr_text, "planning", &e))?
            .planned;
        let finding = self
            .call(
                addr,
                OpKind::Reading,
                false,
                rt.find_created(&planned, &pending.intent),
            )
            .await?;
        match finding {
            Finding::Absent => Ok(None),
            Finding::CannotTell => {
                self.notice(format!(
                    "{addr_text}: an earlier run started creating it at {} and stopped before recording the result; {} objects cannot be looked up before they are recorded, so it is created again (delete a leftover by hand)",
                    when(pending.intent.started),
                    rt.type_name()
                ));
                Ok(None)
            }
            Finding::Found(found) => {
                adoptable(rt.schema(), &planned, &pending.intent, &found)
                    .map_err(|why| not_ours(self, addr, &found.id, &why))?;
                // Said once: an apply plans first, and its plan said it.
                if self.phase.planning() {
                    self.notice(format!(
                        "{addr_text}: adopting {} ({}): an earlier run created it at {} and stopped before recording it; nothing is created twice",
                        found.id,
                        found_how(&found),
                        when(pending.intent.started)
                    ));
                }
                let object = mark_sensitive(rt.schema(), found.object);
                Ok(Some((object, found.id)))
            }
        }
    }

    /// The objects pending intents at addresses `deleting` selects made, found by
    /// looking, for addresses state does not record (a replacement's intent at an
    /// address state records is settled by its create, `create_settled`). An intent
    /// whose object is not there, or whose type cannot tell, is settled by the apply
    /// (with a notice for the latter); an object that answers to the intent but is not
    /// its create's is an error naming it.
    pub(super) async fn left_behind(
        &self,
        deleting: impl Fn(&InstanceAddr) -> bool,
    ) -> Result<Vec<LeftBehind>, Vec<EngineError>> {
        let recorded: BTreeSet<String> = {
            let store = self.recorder.state().await;
            store
                .state
                .instances
                .keys()
                .map(|a| a.to_string())
                .collect()
        };
        let mut found_objects = Vec::new();
        let mut errors = Vec::new();
        for (addr_text, pending) in self.recorder.intents.all_pending() {
            let Some(addr) = InstanceAddr::parse(&addr_text) else {
                continue;
            };
            if recorded.contains(&addr_text)
                || addr.type_name != pending.type_name
                || !self.targeting.includes(&addr)
                || !deleting(&addr)
            {
                continue;
            }
            match self.left_behind_one(&addr, &pending).await {
                Ok(Some(left)) => found_objects.push(left),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(found_objects)
        } else {
            Err(errors)
        }
    }

    async fn left_behind_one(
        &self,
        addr: &InstanceAddr,
        pending: &crate::intents::Pending,
    ) -> Result<Option<LeftBehind>, EngineError> {
        let addr_text = addr.to_string();
        if let Some((_, block)) = self.graph.block(&addr.config_resource())
            && block.mode == Mode::Managed
            && block.lifecycle.prevent_destroy
        {
            return Err(super::resources::prevent_destroy_error(&addr_text, block));
        }
        let provider = pending
            .provider
            .clone()
            .unwrap_or_else(|| default_provider_address(&addr.type_name));
        let rt = self.resource_type_for(addr, &provider).await?;
        let finding = self
            .call(
                addr,
                OpKind::Reading,
                false,
                rt.find_created(&pending.recognise, &pending.intent),
            )
            .await?;
        let found = match finding {
            Finding::Found(found) => found,
            Finding::Absent => {
                if self.phase.applying() {
                    self.recorder.intents.settle(&addr_text);
                }
                return Ok(None);
            }
            Finding::CannotTell => {
                if self.phase.planning() {
                    self.notice(format!(
                        "{addr_text}: an earlier run started creating it at {} and stopped before recording the result; {} objects cannot be looked up before they are recorded, so a leftover is not deleted (delete it by hand)",
                        when(pending.intent.started),
                        rt.type_name()
                    ));
                } else {
                    self.recorder.intents.settle(&addr_text);
                }
                return Ok(None);
            }
        };
        adoptable(rt.schema(), &pending.recognise, &pending.intent, &found)
            .map_err(|why| not_ours(self, addr, &found.id, &why))?;
        if self.phase.planning() {
            self.notice(format!(
                "{addr_text}: {} ({}) was made by an earlier run's create that stopped before recording it: it is deleted with the rest",
                found.id,
                found_how(&found)
            ));
        }
        Ok(Some(LeftBehind {
            addr: addr.clone(),
            provider,
            object: mark_sensitive(rt.schema(), found.object),
            rt,
        }))
    }

    /// Creates `planned` at `addr` under a durably recorded intent, and records the
    /// result. A create whose answer was lost (its retry refused as "already exists") is
    /// settled by finding the object it made: adopted, then brought to `config` by an
    /// update when the create stopped before its last step. `replacing`: the object a
    /// create_before_destroy replacement replaces, which state records at `addr` until
    /// this create is recorded.
    pub(super) async fn create_settled(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        planned: &Value,
        config: &Value,
        record: &(dyn Fn(&Value) -> InstanceState + Sync),
        replacing: Option<&Value>,
    ) -> Result<Value, EngineError> {
        let addr_text = addr.to_string();
        let creating = crate::intents::Creating {
            type_name: rt.type_name(),
            provider: &record(&Value::Null).provider,
            planned,
            replacing: replacing.and_then(IdOf::id_of),
        };
        let intent = match self
            .recorder
            .intents
            .intend_create(&addr_text, creating)
            .await
        {
            Ok(intent) => intent,
            Err(e) => {
                self.notice(format!(
                    "{addr_text}: cannot record the intent to create it beside the journal ({e}); if this run dies during the create, the next one cannot adopt what it made"
                ));
                CreateIntent {
                    token: forge_provider::intent::new_token(uuid::Uuid::new_v4().as_u128()),
                    started: std::time::SystemTime::now(),
                }
            }
        };
        let schema = rt.schema();
        let attempt = async {
            match rt.create_under(planned, &intent).await {
                Ok(v) => Ok(Created::Made(v)),
                Err(e) if is_already_exists(&e) => match rt.find_created(planned, &intent).await {
                    Ok(Finding::Found(found))
                        if adoptable(schema, planned, &intent, &found).is_ok() =>
                    {
                        Ok(Created::Adopted(found))
                    }
                    _ => Err(import_hint(e, self, addr)),
                },
                Err(e) => Err(e),
            }
        };
        let created = match self.call(addr, OpKind::Creating, true, attempt).await {
            Ok(created) => created,
            Err(e) if e.kind == ErrorKind::Provider => {
                self.after_failed_create(rt, addr, planned, &intent).await;
                return Err(e);
            }
            // Not started (the run was stopped, or state cannot be written): nothing made.
            Err(e) => {
                self.recorder.intents.settle(&addr_text);
                return Err(e);
            }
        };
        crate::fault_injection::after_create_returned();
        let made = match created {
            Created::Made(v) => v,
            Created::Adopted(found) => {
                self.notice(format!(
                    "{addr_text}: the answer to its create was lost after AWS made {} ({}): adopted, nothing is created twice",
                    found.id,
                    found_how(&found)
                ));
                // Recorded first: whatever happens next, state knows the object.
                self.recorder
                    .record(addr, Some(record(&found.object)))
                    .await?;
                let adopted = found.object;
                let wanted = rt
                    .plan(Some(&adopted), config)
                    .map_err(|e| EngineError::provider(&addr_text, "planning", &e))?
                    .planned;
                if wanted.same_as(&adopted) && wanted.is_wholly_known() {
                    adopted
                } else {
                    self.call(addr, OpKind::Modifying, true, rt.update(&adopted, &wanted))
                        .await?
                }
            }
        };
        self.recorder.record(addr, Some(record(&made))).await?;
        self.created_recorded(rt, addr, &made).await;
        self.recorder.intents.settle(&addr_text);
        Ok(made)
    }

    /// State records the object a create made: the provider may take off what only
    /// served to find it (`ResourceType::created_recorded`). A failure is a notice: what
    /// is left shows at the next refresh and its update removes it.
    pub(super) async fn created_recorded(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        object: &Value,
    ) {
        if let Err(e) = rt.created_recorded(&object.deep_unmarked()).await {
            self.notice(format!(
                "{addr}: recorded, but what marked its create is still on it ({e}); the next apply removes it"
            ));
        }
    }

    /// A create that failed may still have made something (a step after the first
    /// failed and its clean-up too, or every retry of a lost answer failed): the intent
    /// stays pending for the next run only when its object is there.
    async fn after_failed_create(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        planned: &Value,
        intent: &CreateIntent,
    ) {
        let addr_text = addr.to_string();
        match rt.find_created(planned, intent).await {
            Ok(Finding::Found(found))
                if adoptable(rt.schema(), planned, intent, &found).is_ok() =>
            {
                self.notice(format!(
                    "{addr_text}: the create failed, but it made {}: the next run adopts it",
                    found.id
                ))
            }
            // Nothing this create made (someone else's object, or nothing can be told).
            Ok(_) => self.recorder.intents.settle(&addr_text),
            // Cannot look now: the next run looks.
            Err(_) => {}
        }
    }

    fn notice(&self, message: String) {
        (self.run.ctx.events)(Event::Notice {
            unit: Some(self.unit_name().to_string()),
            message,
        });
    }
}

/// Whether `found` is the object the create of `planned` under `intent` made: `Err`
/// says why not.
pub(super) fn adoptable(
    schema: &Schema,
    planned: &Value,
    intent: &CreateIntent,
    found: &Found,
) -> Result<(), String> {
    if found.by == FoundBy::Token {
        return Ok(());
    }
    if let Some(created) = found.created
        && created + CLOCK_MARGIN < intent.started
    {
        return Err(format!(
            "it was created at {}, before this create started at {}",
            when(created),
            when(intent.started)
        ));
    }
    // The arguments fixed at creation must be the configured ones.
    for (name, attr) in &schema.attributes {
        if !attr.force_new || attr.sensitive {
            continue;
        }
        let Some(wanted) = planned.get(name) else {
            continue;
        };
        if wanted.is_null() || !wanted.is_wholly_known() || wanted.as_str() == Some("") {
            continue;
        }
        let have = found.object.get(name).unwrap_or(&Value::Null);
        if !wanted.same_as(have) {
            return Err(format!(
                "its {name} is {} where the configuration says {}",
                crate::value_text::inline(have),
                crate::value_text::inline(wanted)
            ));
        }
    }
    Ok(())
}

fn found_how(found: &Found) -> &'static str {
    match found.by {
        FoundBy::Token => "found by the create's idempotency token",
        FoundBy::Name => "found by its name, created after the create started, as configured",
    }
}

/// The error for an object that answers to the intent's name but is not its create's.
fn not_ours(runner: &Runner<'_>, addr: &InstanceAddr, id: &str, why: &str) -> EngineError {
    EngineError::new(
        ErrorKind::Provider,
        format!("{addr}: {id} exists, but it is not the object an earlier run of forge was creating here"),
    )
    .cause(why.to_string())
    .hint(format!(
        "if it is the intended object, adopt it with: forge import {} {addr} {id}; otherwise delete it or choose another name",
        runner.run.unit.dir.display()
    ))
}

/// An "already exists" that no intent explains: the object is someone else's (or made
/// before forge recorded intents), and only the user can say whether to adopt it.
fn import_hint(e: ProviderError, runner: &Runner<'_>, addr: &InstanceAddr) -> ProviderError {
    let hint = format!(
        "an object of that name exists that this unit's state does not record: if it is the intended one, adopt it with `forge import {} {addr} <id>`; otherwise delete it or choose another name",
        runner.run.unit.dir.display()
    );
    match &e.hint {
        Some(h) if h.contains("forge import") => e,
        _ => e.hint(hint),
    }
}

fn when(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The address state writes for a type's default provider configuration (an intent an
/// older forge wrote does not name its provider).
fn default_provider_address(type_name: &str) -> String {
    format!(
        "provider[\"registry.terraform.io/hashicorp/{}\"]",
        provider_name_of(type_name)
    )
}
