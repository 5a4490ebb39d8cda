"""`python -m sandbox.phonepe --port 8082 [--host 127.0.0.1]`; credentials from PHONEPE_* env vars."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from sandbox.phonepe.config import CALLBACK_IDS, INTENT_URL_FORMS, QR_DATA_FORMS, config_from_env
from sandbox.phonepe.server import PhonePeSandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.phonepe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--refund-delay", type=float, default=2.0,
                        help="seconds until a refund completes by itself (default 2)")
    parser.add_argument("--token-ttl", type=int, default=3600, help="OAuth token lifetime in seconds")
    parser.add_argument("--webhook-url", default=None,
                        help="v2 webhook URL (overrides PHONEPE_SANDBOX_WEBHOOK_URL; '' turns webhooks off)")
    parser.add_argument("--qr-data-form", choices=QR_DATA_FORMS, default="png",
                        help="qrData of a UPI_QR answer: base64 PNG (default), data: URI, the upi:// "
                             "string itself, or absent")
    parser.add_argument("--intent-url-form", choices=INTENT_URL_FORMS, default="upi",
                        help="intentUrl of a UPI_QR answer: upi:// (default), the docs' 'ppe://url', "
                             "empty, or absent")
    parser.add_argument("--callback-ids", choices=CALLBACK_IDS, default="both",
                        help="v2 order webhooks carry merchantOrderId and orderId (default), or orderId only")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    config = config_from_env()
    config.refund_delay = args.refund_delay
    config.token_ttl = args.token_ttl
    config.qr_data_form = args.qr_data_form
    config.intent_url_form = args.intent_url_form
    config.callback_ids = args.callback_ids
    if args.webhook_url is not None:
        config.webhook_url = args.webhook_url or None
    sandbox = PhonePeSandbox.from_config(config, host=args.host, port=args.port).start()
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:  # docker stop sends SIGTERM, a terminal SIGINT
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"PhonePe sandbox ready on {sandbox.url}  (merchant {config.merchant_id}, "
          f"client {config.client_id}; v2 webhooks -> {config.webhook_url or 'none'}; "
          f"customer page {sandbox.url}/)", flush=True)
    done.wait()
    print("PhonePe sandbox stopping", flush=True)
    sandbox.stop()


if __name__ == "__main__":
    main()
