//! The types directly inside an Arrow type, for the checks that walk a column's type to any
//! depth (a field name twice in a pushed struct, a NUL in a nested field's name, an empty struct
//! inside a Parquet column). One list of the nested variants, so no check can forget one.

use arrow_schema::DataType;

/// How a child sits in its parent, for a path that names where something is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A struct's or union's field of this name (`s.name`).
    Field(&'a str),
    /// A list's items (`s[]`).
    Item,
    /// What stands for the parent's values without a place of its own: a map's entries, a
    /// dictionary's values, a run-end encoded array's run ends and values.
    Same,
}

/// A type directly inside another, with its field name where it has one.
#[derive(Clone, Copy, Debug)]
pub struct Child<'a> {
    pub step: Step<'a>,
    /// The field's name (a list's item field is usually `item`, a map's `entries`); `None` for
    /// a dictionary's values, which are a type without a field.
    pub name: Option<&'a str>,
    pub data_type: &'a DataType,
}

/// The types directly inside `data_type`, in order; none for a type that holds no other.
pub fn children(data_type: &DataType) -> Vec<Child<'_>> {
    match data_type {
        DataType::Struct(fields) => fields
            .iter()
            .map(|f| Child {
                step: Step::Field(f.name()),
                name: Some(f.name()),
                data_type: f.data_type(),
            })
            .collect(),
        DataType::Union(fields, _) => fields
            .iter()
            .map(|(_, f)| Child {
                step: Step::Field(f.name()),
                name: Some(f.name()),
                data_type: f.data_type(),
            })
            .collect(),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _) => vec![Child {
            step: Step::Item,
            name: Some(item.name()),
            data_type: item.data_type(),
        }],
        DataType::Map(entries, _) => vec![Child {
            step: Step::Same,
            name: Some(entries.name()),
            data_type: entries.data_type(),
        }],
        DataType::Dictionary(_, values) => vec![Child {
            step: Step::Same,
            name: None,
            data_type: values,
        }],
        DataType::RunEndEncoded(ends, values) => [ends, values]
            .into_iter()
            .map(|f| Child {
                step: Step::Same,
                name: Some(f.name()),
                data_type: f.data_type(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{Field, Fields, UnionFields, UnionMode};

    use super::*;

    fn steps(data_type: &DataType) -> Vec<(Step<'_>, Option<&str>, DataType)> {
        children(data_type)
            .into_iter()
            .map(|c| (c.step, c.name, c.data_type.clone()))
            .collect()
    }

    #[test]
    fn every_nested_variant_gives_what_is_inside_it() {
        let int = DataType::Int64;
        let item = Arc::new(Field::new("item", DataType::Utf8, true));
        let fields = Fields::from(vec![Field::new("a", int.clone(), true)]);
        assert_eq!(
            steps(&DataType::Struct(fields.clone())),
            vec![(Step::Field("a"), Some("a"), int.clone())]
        );
        for list in [
            DataType::List(Arc::clone(&item)),
            DataType::LargeList(Arc::clone(&item)),
            DataType::ListView(Arc::clone(&item)),
            DataType::LargeListView(Arc::clone(&item)),
            DataType::FixedSizeList(Arc::clone(&item), 2),
        ] {
            assert_eq!(
                steps(&list),
                vec![(Step::Item, Some("item"), DataType::Utf8)]
            );
        }
        let entries = Field::new("entries", DataType::Struct(fields.clone()), false);
        let map = DataType::Map(Arc::new(entries), false);
        assert_eq!(
            steps(&map),
            vec![(Step::Same, Some("entries"), DataType::Struct(fields))]
        );
        let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert_eq!(steps(&dictionary), vec![(Step::Same, None, DataType::Utf8)]);
        let ends = Arc::new(Field::new("run_ends", DataType::Int32, false));
        let ree = DataType::RunEndEncoded(ends, Arc::clone(&item));
        assert_eq!(
            steps(&ree),
            vec![
                (Step::Same, Some("run_ends"), DataType::Int32),
                (Step::Same, Some("item"), DataType::Utf8)
            ]
        );
        let union =
            UnionFields::try_new(vec![0], vec![Field::new("u", int.clone(), true)]).unwrap();
        let union = DataType::Union(union, UnionMode::Dense);
        assert_eq!(
            steps(&union),
            vec![(Step::Field("u"), Some("u"), int.clone())]
        );
        assert!(children(&int).is_empty() && children(&DataType::Utf8View).is_empty());
    }
}
