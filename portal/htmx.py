"""One way to render: the whole page on a direct visit, only the swapped block for an HTMX request."""

from flask import current_app, make_response, redirect, render_template, request


def is_partial() -> bool:
    """True for an htmx request that swaps part of the page.

    Boosted navigation and history restoration replace the whole body, so they get the whole page.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_block(template_name: str, block: str, **context) -> str:
    """Render one named block of a page template: page and partial can never drift apart."""
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_template(template_name)
    block_render = template.blocks[block]
    ctx = template.new_context(context)
    return "".join(block_render(ctx))


def render(template_name: str, block: str | None = None, **context) -> str:
    """The page, or just `block` of it when htmx asks for a part."""
    if block is not None and is_partial():
        return render_block(template_name, block, **context)
    return render_template(template_name, **context)


def add_vary(response):
    """Pages and their partials share URLs, so caches must key on HX-Request."""
    response.vary.add("HX-Request")
    return response


def page_number() -> int:
    """The ?page= of a list, or 1 for anything that is not a sensible page number."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def sort_order(options):
    """The list's order from ?sort=&dir= (services.paging.SortOptions); the default for anything else."""
    return options.pick(request.args.get("sort"), request.args.get("dir"))


def redirect_after_post(target: str):
    """After a successful POST: 303 to `target`, or for htmx a full navigation there (HX-Redirect)."""
    if request.headers.get("HX-Request"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
