#![doc = include_str!("../README.md")]

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::{FnArg, Ident, ImplItem, ItemImpl, Pat, Type, parse_macro_input};

/// Relay's paging arguments, in the order the schema lists them: name, type
/// and description.
///
/// `first` and `last` default to the configured page size and are clamped to
/// the maximum (`bistro-schema`'s `connection::PageArgs::window`), which is
/// what the descriptions promise.
const PAGE_ARGS: [(&str, &str, &str); 4] = [
    (
        "first",
        "::std::option::Option<i32>",
        "Page size when paging forward (default 20, at most 100).",
    ),
    (
        "after",
        "::std::option::Option<::std::string::String>",
        "Cursor to continue after.",
    ),
    (
        "last",
        "::std::option::Option<i32>",
        "Page size when paging backward (at most 100).",
    ),
    (
        "before",
        "::std::option::Option<::std::string::String>",
        "Cursor to continue before.",
    ),
];

/// Expands every parameter typed `PageArgs` of the impl's methods into the
/// four paging arguments, in its place, and binds the parameter's name to
/// the `PageArgs` they make at the top of the method's body.
///
/// Put it above `#[Object]`, so it runs first. The arguments keep their
/// names, so a `complexity` expression may use `first` and `last`.
#[proc_macro_attribute]
pub fn page_args(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(Span::call_site(), "`#[page_args]` takes no arguments")
            .to_compile_error()
            .into();
    }
    let mut item = parse_macro_input!(item as ItemImpl);
    for method in &mut item.items {
        let ImplItem::Fn(method) = method else {
            continue;
        };
        let inputs = std::mem::take(&mut method.sig.inputs);
        for input in inputs {
            let FnArg::Typed(typed) = &input else {
                method.sig.inputs.push(input);
                continue;
            };
            if !is_page_args(&typed.ty) {
                method.sig.inputs.push(input);
                continue;
            }
            let Pat::Ident(binding) = typed.pat.as_ref() else {
                return syn::Error::new_spanned(&typed.pat, "name the `PageArgs` parameter")
                    .to_compile_error()
                    .into();
            };
            let binding = &binding.ident;
            let ty = &typed.ty;
            let names: Vec<Ident> = PAGE_ARGS
                .iter()
                .map(|(name, _, _)| Ident::new(name, Span::call_site()))
                .collect();
            for ((_, arg_ty, desc), name) in PAGE_ARGS.iter().zip(&names) {
                let arg_ty: Type = syn::parse_str(arg_ty).expect("the paging types parse");
                method.sig.inputs.push(syn::parse_quote! {
                    #[graphql(desc = #desc)] #name: #arg_ty
                });
            }
            method.block.stmts.insert(
                0,
                syn::parse_quote! {
                    let #binding: #ty = #ty { #(#names),* };
                },
            );
        }
    }
    quote!(#item).into()
}

/// Whether `ty` is `PageArgs` (by any path).
fn is_page_args(ty: &Type) -> bool {
    matches!(ty, Type::Path(path)
        if path.qself.is_none()
            && path.path.segments.last().is_some_and(|s| s.ident == "PageArgs" && s.arguments.is_empty()))
}
