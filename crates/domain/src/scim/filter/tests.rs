use proptest::prelude::*;

use super::*;

fn path(attr: &str) -> AttrPath {
    AttrPath::parse(attr).unwrap()
}

fn cmp(attr: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare {
        path: path(attr),
        op,
        value,
    }
}

fn s(text: &str) -> CompValue {
    CompValue::Str(text.to_owned())
}

#[test]
fn each_operator_parses_case_insensitively() {
    for (name, op) in CompareOp::ALL {
        let upper = format!("userName {} \"bjensen\"", name.to_uppercase());
        assert_eq!(
            Filter::parse(&upper).unwrap(),
            cmp("userName", op, s("bjensen"))
        );
    }
    assert_eq!(
        Filter::parse("title PR").unwrap(),
        Filter::Present(path("title"))
    );
    assert_eq!(
        Filter::parse("active eq True").unwrap(),
        cmp("active", CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        Filter::parse("manager eq null").unwrap(),
        cmp("manager", CompareOp::Eq, CompValue::Null)
    );
    assert_eq!(
        Filter::parse("meta.lastModified gt \"2011-05-13T04:42:34Z\"").unwrap(),
        cmp(
            "meta.lastModified",
            CompareOp::Gt,
            s("2011-05-13T04:42:34Z")
        )
    );
    assert_eq!(
        Filter::parse("x ge -1.5e3").unwrap(),
        cmp("x", CompareOp::Ge, CompValue::Number("-1.5e3".into()))
    );
}

#[test]
fn not_binds_tighter_than_and_and_and_than_or() {
    let a = || cmp("a", CompareOp::Eq, s("1"));
    let b = || cmp("b", CompareOp::Eq, s("2"));
    let c = || cmp("c", CompareOp::Eq, s("3"));
    let and = |l: Filter, r: Filter| Filter::And(Box::new(l), Box::new(r));
    let or = |l: Filter, r: Filter| Filter::Or(Box::new(l), Box::new(r));
    let parse = |f: &str| Filter::parse(f).unwrap();
    assert_eq!(
        parse(r#"a eq "1" or b eq "2" and c eq "3""#),
        or(a(), and(b(), c()))
    );
    assert_eq!(
        parse(r#"a eq "1" and b eq "2" or c eq "3""#),
        or(and(a(), b()), c())
    );
    assert_eq!(
        parse(r#"(a eq "1" or b eq "2") and c eq "3""#),
        and(or(a(), b()), c())
    );
    assert_eq!(
        parse(r#"not (a eq "1") and b eq "2""#),
        and(Filter::Not(Box::new(a())), b())
    );
    assert_eq!(
        parse(r#"a eq "1" AND b eq "2" Or c eq "3""#),
        or(and(a(), b()), c())
    );
}

#[test]
fn value_paths_schema_uris_and_sub_attributes() {
    let f = Filter::parse(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp"]"#,
    )
    .unwrap();
    let Filter::Or(l, r) = f else { panic!("an or") };
    let Filter::ValuePath { path, filter } = *l else {
        panic!("a value path")
    };
    assert_eq!(path.attr, "emails");
    assert!(matches!(*filter, Filter::And(..)));
    assert!(matches!(*r, Filter::ValuePath { .. }));

    let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
    assert_eq!(
        p.uri.as_deref(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    assert_eq!(
        (p.attr.as_str(), p.sub.as_deref()),
        ("name", Some("givenName"))
    );
    let e = AttrPath::parse(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    )
    .unwrap();
    assert_eq!(e.attr, "employeeNumber");
    assert_eq!(e.sub, None);
}

#[test]
fn strings_keep_their_escapes() {
    let f = Filter::parse(r#"displayName eq "say \"hi\" \\ \u00e9""#).unwrap();
    assert_eq!(f, cmp("displayName", CompareOp::Eq, s("say \"hi\" \\ é")));
    assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
}

#[test]
fn invalid_filters_are_refused_with_a_reason() {
    for bad in [
        "",
        "userName",
        "userName eq",
        "userName eq bjensen",
        "userName equals \"x\"",
        "userName eq \"x\" and",
        "userName eq \"x\" userName eq \"y\"",
        "(userName eq \"x\"",
        "userName eq \"x\")",
        "not userName eq \"x\"",
        "emails[type eq \"work\"",
        "emails[type[value eq \"x\"] eq \"y\"]",
        "name.givenName[value eq \"x\"]",
        "emails[type eq \"work\"]]",
        "1abc eq \"x\"",
        "a.b.c eq \"x\"",
        "userName eq \"unterminated",
        "userName eq \"bad \\q escape\"",
        "foo:bar eq \"x\"",
        "urn:x: eq \"x\"",
        "userName eq 01",
        "ü eq \"x\"",
    ] {
        assert!(Filter::parse(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn limits_refuse_filters_that_are_too_long_deep_or_large() {
    let deep = format!(
        "{}a eq 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(Filter::parse(&deep).unwrap_err().0.contains("deeper"));
    let nots = format!("{}a eq 1{}", "not (".repeat(40), ")".repeat(40));
    assert!(Filter::parse(&nots).is_err());
    let many = vec!["a eq 1"; MAX_TERMS + 1].join(" and ");
    assert!(Filter::parse(&many).unwrap_err().0.contains("comparisons"));
    let ok = vec!["a eq 1"; MAX_TERMS].join(" or ");
    assert!(Filter::parse(&ok).is_ok());
    assert!(Filter::parse(&"a".repeat(MAX_FILTER_LEN + 1)).is_err());
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}".prop_filter("not a keyword", |n| {
        !["not", "and", "or"].contains(&n.to_ascii_lowercase().as_str())
    })
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::of(Just(
            "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
        )),
        name(),
        prop::option::of(name()),
    )
        .prop_map(|(uri, attr, sub)| AttrPath { uri, attr, sub })
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i32>().prop_map(|n| CompValue::Number(n.to_string())),
        any::<String>().prop_map(CompValue::Str),
    ]
}

fn term() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (attr_path(), 0..CompareOp::ALL.len(), value()).prop_map(|(path, op, value)| {
            Filter::Compare {
                path,
                op: CompareOp::ALL[op].1,
                value,
            }
        }),
        attr_path().prop_map(Filter::Present),
    ]
}

fn compound(inner: BoxedStrategy<Filter>, not: bool) -> BoxedStrategy<Filter> {
    let and =
        (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r)));
    let or = (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r)));
    if not {
        prop_oneof![and, or, inner.prop_map(|f| Filter::Not(Box::new(f)))].boxed()
    } else {
        prop_oneof![and, or].boxed()
    }
}

fn filter_without_value_paths() -> BoxedStrategy<Filter> {
    term()
        .prop_recursive(4, 24, 2, |inner| compound(inner, true))
        .boxed()
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path =
        (name(), filter_without_value_paths()).prop_map(|(attr, filter)| Filter::ValuePath {
            path: AttrPath {
                uri: None,
                attr,
                sub: None,
            },
            filter: Box::new(filter),
        });
    prop_oneof![filter_without_value_paths(), value_path]
        .prop_recursive(2, 8, 2, |inner| compound(inner, false))
}

/// Whether the parser's limits let `f` through (generated filters may exceed them).
fn within_limits(f: &Filter) -> bool {
    fn walk(f: &Filter, depth: usize, terms: &mut usize) -> bool {
        match f {
            Filter::Compare { .. } | Filter::Present(_) => {
                *terms += 1;
                true
            }
            Filter::And(l, r) | Filter::Or(l, r) => walk(l, depth, terms) && walk(r, depth, terms),
            Filter::Not(inner) | Filter::ValuePath { filter: inner, .. } => {
                depth + 1 < MAX_DEPTH && walk(inner, depth + 1, terms)
            }
        }
    }
    let mut terms = 0;
    walk(f, 0, &mut terms) && terms <= MAX_TERMS
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_input_parses_or_is_refused_without_panicking(raw in "\\PC{0,80}") {
        let _ = Filter::parse(&raw);
    }

    #[test]
    fn filter_like_input_never_panics(
        raw in r#"([a-z]{1,4}(\.[a-z]{1,3})?|\(|\)|\[|\]|"[a-z\\"]{0,3}"|eq|and|or|not|pr|-?[0-9]{1,3}| ){0,30}"#,
    ) {
        let _ = Filter::parse(&raw);
    }

    #[test]
    fn printing_and_parsing_again_gives_the_same_filter(f in filter()) {
        prop_assume!(within_limits(&f));
        let printed = f.to_string();
        prop_assert_eq!(Filter::parse(&printed).unwrap(), f, "printed as {}", printed);
    }
}
