//! Attribute selection: `a.b.c` (with `or`), `a ? b.c`, dynamic attribute names, and *open*
//! sets (models of something only partly known), whose missing attributes are unknown.

use std::rc::Rc;

use super::{Evaluator, OPEN_MARKER};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::ir::{AttrKey, ExprId, Module};
use crate::eval::thunk::Env;
use crate::eval::unknown::Unknown;
use crate::eval::value::{Attrs, Value};

impl Evaluator<'_> {
    #[inline(never)]
    pub(super) fn eval_select(
        &mut self,
        module: &Rc<Module>,
        inner: &ExprId,
        path: &[AttrKey],
        default: &Option<ExprId>,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let mut value = self.eval(module, *inner, env)?;
        for key in path {
            let name = match self.attr_name(module, key, env)? {
                Ok(n) => n,
                Err(u) => return Ok(Value::Unknown(u)),
            };
            let attrs = match &value {
                Value::Attrs(a) => a.clone(),
                Value::Unknown(_) => return Ok(value),
                other => {
                    if let Some(d) = default {
                        return self.eval(module, *d, env);
                    }
                    return Err(EvalError::eval(
                        format!("value is {} while a set was expected", other.describe()),
                        Some(pos),
                    ));
                }
            };
            match attrs.get(&name) {
                Some(t) => {
                    let t = t.clone();
                    value = self.force(&t, Some(pos))?;
                }
                None => {
                    if let Some(open) = self.open_rest(&attrs, &name, pos)? {
                        return Ok(open);
                    }
                    if let Some(d) = default {
                        return self.eval(module, *d, env);
                    }
                    return Err(EvalError::eval(
                        format!("attribute '{name}' missing"),
                        Some(pos),
                    ));
                }
            }
        }
        Ok(value)
    }

    /// For an attribute a set lacks: an unknown when the set is *open*, i.e. a model of
    /// something only partly known (an input's outputs, `lib`), marked by an `__clancOpen`
    /// attribute whose value says what the set stands for.
    pub(in crate::eval) fn open_rest(
        &mut self,
        attrs: &Attrs,
        name: &str,
        pos: Pos,
    ) -> EvalResult<Option<Value>> {
        let Some(open) = attrs.get(OPEN_MARKER) else {
            return Ok(None);
        };
        let open = open.clone();
        let what = match self.force(&open, Some(pos))? {
            Value::String(s) => s.text().to_string(),
            _ => "a partly modelled set".to_string(),
        };
        Ok(Some(Value::Unknown(Rc::new(Unknown::new(
            format!("`{name}` of {what} is not modelled"),
            Some(pos),
        )))))
    }

    /// When `attrs` is *open* (see `open_rest`): an unknown standing for what it would be
    /// to enumerate its names or compare it, which the model cannot know.
    pub(crate) fn open_names(
        &mut self,
        attrs: &Attrs,
        pos: Option<Pos>,
    ) -> EvalResult<Option<Rc<Unknown>>> {
        let Some(open) = attrs.get(OPEN_MARKER) else {
            return Ok(None);
        };
        let open = open.clone();
        let what = match self.force(&open, pos)? {
            Value::String(s) => s.text().to_string(),
            _ => "a partly modelled set".to_string(),
        };
        Ok(Some(Rc::new(Unknown::new(
            format!("the attribute names of {what} are not all modelled"),
            pos,
        ))))
    }

    #[inline(never)]
    pub(super) fn eval_has_attr(
        &mut self,
        module: &Rc<Module>,
        inner: &ExprId,
        path: &[AttrKey],
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let mut value = self.eval(module, *inner, env)?;
        for key in path {
            let name = match self.attr_name(module, key, env)? {
                Ok(n) => n,
                Err(u) => return Ok(Value::Unknown(u)),
            };
            match &value {
                Value::Attrs(a) => match a.get(&name) {
                    Some(t) => {
                        let t = t.clone();
                        value = self.force(&t, Some(pos))?;
                    }
                    None => {
                        return Ok(self.open_rest(a, &name, pos)?.unwrap_or(Value::Bool(false)));
                    }
                },
                Value::Unknown(_) => return Ok(value),
                _ => return Ok(Value::Bool(false)),
            }
        }
        Ok(Value::Bool(true))
    }

    /// The name an attrpath element stands for, or the unknown it evaluated to.
    fn attr_name(
        &mut self,
        module: &Rc<Module>,
        key: &AttrKey,
        env: &Rc<Env>,
    ) -> EvalResult<Result<crate::eval::value::Name, Rc<Unknown>>> {
        match key {
            AttrKey::Static(s) => Ok(Ok(s.clone())),
            AttrKey::Dynamic(e) => {
                let v = self.eval(module, *e, env)?;
                match v {
                    Value::String(s) => Ok(Ok(s.text().into())),
                    Value::Unknown(u) => Ok(Err(u)),
                    other => Err(EvalError::eval(
                        format!("value is {} while a string was expected", other.describe()),
                        Some(Self::pos(module, *e)),
                    )),
                }
            }
        }
    }
}
