//! Bounded RRULE expansion in wall-clock time, on top of calcard's recurrence iterator.
//!
//! calcard only exposes its iterator through `ICalendar::expand_dates`, which also applies
//! EXDATE, RDATE and overrides in ways this server cannot use (overrides are matched only when
//! their SEQUENCE equals the master's, a UTC UNTIL is compared with the local wall clock, there
//! is no horizon). So this module hands calcard a synthetic one-component calendar holding only a
//! floating DTSTART and the rule, and gets back the bare occurrence set in local wall-clock time;
//! EXDATE, RDATE, overrides and time zones are the caller's business.
//!
//! Work is bounded three ways: the rule's UNTIL is clamped to a cut-off (the horizon, or the end
//! of a query), a COUNT of at most `budget + 1` is injected so one iterator period (a YEARLY rule
//! with BYSECOND/BYMINUTE/BYHOUR lists can hold 31 million candidates) never fills more than that,
//! and `expand_dates` stops after `budget + 1` dates. `skip_ahead` moves DTSTART forward by whole
//! periods so a query far from DTSTART does not iterate from the beginning.

use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarFrequency,
    ICalendarMonth, ICalendarProperty, ICalendarRecurrenceRule, ICalendarValue,
};
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta, Timelike};

/// The occurrences of one rule, in local wall-clock time, ascending.
#[derive(Debug)]
pub(super) struct Expansion {
    pub starts: Vec<NaiveDateTime>,
    /// The rule ended by itself (COUNT reached or UNTIL passed) before the cut-off and within
    /// the budget: `starts` is its whole occurrence set.
    pub complete: bool,
    /// Expansion stopped because `budget` occurrences were produced.
    pub hit_budget: bool,
}

/// What to expand.
pub(super) struct Rule<'a> {
    pub rule: &'a ICalendarRecurrenceRule,
    /// DTSTART in local wall-clock time.
    pub dtstart: NaiveDateTime,
    pub date_only: bool,
    /// The rule's UNTIL already converted to DTSTART's wall clock (None: no UNTIL).
    pub until: Option<NaiveDateTime>,
}

/// Expands `rule` up to and including `cut` (local wall clock), at most `budget` occurrences.
/// DTSTART always counts as the first occurrence (RFC 5545 §3.8.5.3), also when the rule
/// itself would not produce it. `from` replaces DTSTART as the start of iteration (see
/// `skip_ahead`); DTSTART is then not added.
pub(super) fn expand(
    r: &Rule<'_>,
    from: Option<(NaiveDateTime, &ICalendarRecurrenceRule)>,
    cut: NaiveDateTime,
    budget: usize,
) -> Result<Expansion, String> {
    let budget = budget.max(1);
    let (start, rule, skipped) = match from {
        Some((start, rule)) => (start, rule, true),
        None => (r.dtstart, r.rule, false),
    };
    let natural_end = r.until;
    let mut starts = Vec::new();
    if natural_end.is_some_and(|until| until < r.dtstart) {
        // UNTIL before DTSTART: only DTSTART itself.
        if !skipped && r.dtstart <= cut {
            starts.push(r.dtstart);
        }
        return Ok(Expansion {
            starts,
            complete: true,
            hit_budget: false,
        });
    }
    let effective_until = match natural_end {
        Some(until) if until <= cut => until,
        _ => cut,
    };
    let mut generated = Vec::new();
    if start <= effective_until {
        let budget_count = u32::try_from(budget).unwrap_or(u32::MAX).saturating_add(1);
        let mut synthetic = rule.clone();
        synthetic.until = Some(floating(effective_until, false));
        synthetic.count = Some(match rule.count {
            Some(count) => count.min(budget_count),
            None => budget_count,
        });
        let calendar = synthetic_calendar(start, r.date_only, synthetic);
        let expanded = calendar.expand_dates(Tz::Floating, budget.saturating_add(1));
        if let Some(error) = expanded.errors.first() {
            return Err(format!("invalid RRULE: {}", error.error));
        }
        generated = expanded
            .events
            .iter()
            .map(|event| event.start.naive_local())
            .filter(|start| *start <= effective_until)
            .collect();
        generated.sort_unstable();
        generated.dedup();
    }
    let hit_budget = generated.len() > budget;
    // COUNT counts DTSTART (RFC 5545): when the rule does not produce DTSTART, add it and
    // drop the last rule occurrence if that one was the COUNT-th.
    let count_reached = rule
        .count
        .is_some_and(|count| generated.len() as u64 >= count as u64);
    if !skipped && generated.first() != Some(&r.dtstart) && r.dtstart <= cut {
        generated.insert(0, r.dtstart);
        if count_reached && !skipped {
            generated.pop();
        }
    }
    if generated.len() > budget {
        generated.truncate(budget);
    }
    let until_reached = natural_end.is_some_and(|until| until <= cut);
    let complete = !hit_budget && (until_reached || (count_reached && !skipped));
    starts = generated;
    Ok(Expansion {
        starts,
        complete,
        hit_budget,
    })
}

/// A later DTSTART for the same rule, at most `target` and a whole number of rule periods
/// after DTSTART, with the BYxxx parts that the original DTSTART implied made explicit (RFC
/// 5545 §3.3.10: a missing BYMONTH/BYMONTHDAY/BYDAY/BYHOUR/... is taken from DTSTART). From
/// there, the rule produces exactly the original occurrences that are at or after the new
/// start. None when skipping is not possible or not worth it: COUNT rules (counting starts at
/// DTSTART), RSCALE rules, a target before DTSTART.
pub(super) fn skip_ahead(
    r: &Rule<'_>,
    target: NaiveDateTime,
) -> Option<(NaiveDateTime, ICalendarRecurrenceRule)> {
    let rule = r.rule;
    if rule.count.is_some() || rule.rscale.is_some() || target <= r.dtstart {
        return None;
    }
    let start = r.dtstart;
    let interval = i64::from(rule.interval.unwrap_or(1).max(1));
    let mut adjusted = rule.clone();
    let seconds = (target - start).num_seconds();
    let by_seconds = |unit: i64| -> Option<NaiveDateTime> {
        let step = interval.checked_mul(unit)?;
        let periods = (seconds / step).checked_sub(1)?;
        if periods <= 0 {
            return None;
        }
        start.checked_add_signed(TimeDelta::try_seconds(periods.checked_mul(step)?)?)
    };
    let no_day_parts = rule.byweekno.is_empty()
        && rule.byyearday.is_empty()
        && rule.bymonthday.is_empty()
        && rule.byday.is_empty();
    let new_start = match rule.freq {
        ICalendarFrequency::Secondly => by_seconds(1)?,
        ICalendarFrequency::Minutely => by_seconds(60)?,
        ICalendarFrequency::Hourly => by_seconds(3600)?,
        ICalendarFrequency::Daily => by_seconds(86_400)?,
        // Whole weeks keep DTSTART's weekday, the implied BYDAY.
        ICalendarFrequency::Weekly => by_seconds(7 * 86_400)?,
        ICalendarFrequency::Monthly => {
            let months = i64::from(target.year() - start.year()) * 12 + i64::from(target.month())
                - i64::from(start.month());
            let periods = (months / interval).checked_sub(1)?;
            if periods <= 0 {
                return None;
            }
            if no_day_parts {
                adjusted.bymonthday = vec![i8::try_from(start.day()).ok()?];
            }
            let first = start.date().with_day(1)?;
            let shifted = first.checked_add_months(Months::new(
                u32::try_from(periods.checked_mul(interval)?).ok()?,
            ))?;
            shifted.and_time(start.time())
        }
        ICalendarFrequency::Yearly => {
            let years = i64::from(target.year() - start.year());
            let periods = (years / interval).checked_sub(1)?;
            if periods <= 0 {
                return None;
            }
            if no_day_parts {
                if adjusted.bymonth.is_empty() {
                    adjusted.bymonth = vec![ICalendarMonth::new(
                        u8::try_from(start.month()).ok()?,
                        false,
                    )];
                }
                adjusted.bymonthday = vec![i8::try_from(start.day()).ok()?];
            }
            let year = i64::from(start.year()).checked_add(periods.checked_mul(interval)?)?;
            NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1)?.and_time(start.time())
        }
    };
    // BYHOUR/BYMINUTE/BYSECOND defaults come from DTSTART's time of day, which the shifted
    // start keeps (whole days or whole sub-day periods), so they need no rewriting.
    Some((new_start, adjusted))
}

/// A floating (no zone) iCalendar date or date-time.
pub(super) fn floating(at: NaiveDateTime, date_only: bool) -> PartialDateTime {
    let small = |v: u32| u8::try_from(v).ok();
    PartialDateTime {
        year: u16::try_from(at.year()).ok(),
        month: small(at.month()),
        day: small(at.day()),
        hour: if date_only { None } else { small(at.hour()) },
        minute: if date_only { None } else { small(at.minute()) },
        second: if date_only { None } else { small(at.second()) },
        tz_hour: None,
        tz_minute: None,
        tz_minus: false,
    }
}

fn synthetic_calendar(
    dtstart: NaiveDateTime,
    date_only: bool,
    rule: ICalendarRecurrenceRule,
) -> ICalendar {
    let entry = |name, value| ICalendarEntry {
        name,
        params: Vec::new(),
        values: vec![value],
    };
    ICalendar {
        components: vec![
            ICalendarComponent {
                component_type: ICalendarComponentType::VCalendar,
                entries: Vec::new(),
                component_ids: vec![1],
            },
            ICalendarComponent {
                component_type: ICalendarComponentType::VEvent,
                entries: vec![
                    entry(
                        ICalendarProperty::Dtstart,
                        ICalendarValue::PartialDateTime(Box::new(floating(dtstart, date_only))),
                    ),
                    entry(
                        ICalendarProperty::Rrule,
                        ICalendarValue::RecurrenceRule(Box::new(rule)),
                    ),
                ],
                component_ids: Vec::new(),
            },
        ],
    }
}
