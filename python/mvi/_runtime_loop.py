"""Under mvi-runtime: the one asyncio event loop the runtime owns (its own thread), where `async def` entrypoints are
awaited and `@service.call_every` jobs are scheduled.

Thread-safety: start()/stop() are called by the runtime's main thread; schedule() from executor threads; everything
else runs on the loop thread. The call an entrypoint belongs to travels in a contextvar, because one thread runs
many coroutines.
"""

import asyncio
import contextvars
import logging
import threading

current_call = contextvars.ContextVar("mvi_current_call", default=None)  # (entrypoint, request_id)

_log = logging.getLogger("mvi.jobs")
_loop = None
_thread = None
_jobs = []  # asyncio tasks of the periodic jobs


def start():
    """Starts the loop thread; returns when the loop runs."""
    global _loop, _thread
    if _loop is not None:
        return
    ready = threading.Event()

    def run():
        global _loop
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            _drain(loop)
            loop.close()

    _thread = threading.Thread(target=run, name="mvi-asyncio", daemon=True)
    _thread.start()
    ready.wait(10)


def running_loop():
    """The runtime's event loop while it runs (services with async entrypoints or jobs), else None."""
    return _loop if _thread is not None and _thread.is_alive() else None


def _drain(loop):
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


def schedule(coroutine, entrypoint, request_id):
    """Runs an entrypoint's coroutine on the loop; returns a concurrent.futures.Future."""
    token = current_call.set((entrypoint, request_id))
    try:
        # call_soon_threadsafe captures this thread's context, so the task sees current_call.
        return asyncio.run_coroutine_threadsafe(coroutine, _loop)
    finally:
        current_call.reset(token)


def start_jobs(jobs, notify):
    """Schedules the periodic jobs exported by the service. `notify(msg, severity)` reports overruns."""
    if not jobs:
        return
    ready = threading.Event()

    def create():
        for job in jobs:
            _jobs.append(_loop.create_task(_run_job(job, notify), name=f"mvi-job-{job['name']}"))
        ready.set()

    _loop.call_soon_threadsafe(create)
    ready.wait(10)


async def _run_job(job, notify):
    name, seconds, func = job["name"], float(job["seconds"]), job["function"]
    loop = asyncio.get_running_loop()
    next_run = loop.time() + (seconds if job.get("wait_first") else 0.0)
    while True:
        await asyncio.sleep(max(0.0, next_run - loop.time()))
        started = loop.time()
        try:
            if job.get("is_async"):
                await func()
            else:
                await _in_daemon_thread(loop, func, name)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("periodic job %r raised; the schedule continues", name)
        elapsed = loop.time() - started
        if elapsed > seconds:
            # Runs never overlap: an overrun delays the next run instead of stacking runs up.
            _log.warning("periodic job %r took %.3f s, longer than its %g s interval", name, elapsed, seconds)
            try:
                # One stable message, so repeats raise the notification's counter instead of piling up.
                notify(f"Periodic job '{name}' overran its {seconds:g} s interval", 1)
            except Exception:
                _log.exception("could not raise the overrun notification for job %r", name)
            next_run = loop.time()
        else:
            next_run = started + seconds


def _in_daemon_thread(loop, func, name):
    """Runs a sync job on a daemon thread: a long job must never hold up the process's exit."""
    done = loop.create_future()

    def run():
        try:
            result = func()
        except BaseException as exc:  # handed to the awaiting task, which logs it
            # bound as a default: the name `exc` is deleted when the except block ends
            loop.call_soon_threadsafe(lambda error=exc: done.done() or done.set_exception(error))
        else:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(result))

    threading.Thread(target=run, name=f"mvi-job-{name}", daemon=True).start()
    return done


def stop(timeout=5.0):
    """Cancels the jobs and async calls still running, closes the loop, and joins its thread (bounded)."""
    global _loop, _thread
    loop, thread = _loop, _thread
    if loop is None:
        return
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(timeout)
    _loop, _thread = None, None
    _jobs.clear()

