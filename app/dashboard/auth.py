"""Sign-in, sign-out and the role checks the dashboard's pages use."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.dashboard import bp
from app.dashboard.forms import LoginForm, LogoutForm
from app.extensions import db, login_manager
from app.models import User
from app.rate_limits import sign_in_limits
from app.services.accounts import find_user

login_manager.login_view = "dashboard.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user from the session cookie."""
    ok = user_id.isascii() and user_id.isdigit() and len(user_id) <= 9  # "²".isdigit() is true too
    return db.session.get(User, int(user_id)) if ok else None


def role_required(*roles: str):
    """Allow only signed-in users with one of roles; others get 403."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403, description="Your role does not allow this page. Ask an admin of your organization.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths, so the sign-in page cannot redirect elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.overview")


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.overview"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is not None and user.active and user.check_password(form.password.data):
            session.clear()
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        flash("That email and password do not match an account.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out (POST with a CSRF token, so no other site can sign you out)."""
    if LogoutForm().validate_on_submit():
        logout_user()
        session.clear()
        flash("You have been signed out.", "info")
    return redirect(url_for("dashboard.login"))
