"""The Cainiao print component (菜鸟打印组件) as a double: a real websocket server on 127.0.0.1 that
answers like the component and records every command it receives.

Protocol (garrettzxd/print-demo src/common/cainiaoPrint.js; ShopeX/OMS printer.js, CaiNiaoPrinter):
requests are JSON {requestID, version:"1.0", cmd}. `getPrinters` → {cmd:"getPrinters", requestID,
status:"success", printers:[{name}], defaultPrinter}. `print` {task:{taskID, printer, documents:[{
documentID, contents}]}} → at once {cmd:"print", requestID, taskID, status:"success"}, then
{cmd:"notifyPrintResult", taskID, printer, taskStatus:"printed"|"failed", printStatus:[{documentID,
status, msg}]}. An unknown printer or a document without contents fails the task (as the component
does); `fail_next(msg)` makes the next task fail with that message (paper out, …).
"""

import json
import threading

from websockets.sync.server import serve


class CainiaoPrintDouble:
    """`result_cmd` is the name of the result message: Cainiao's, Douyin's and Kuaishou's components
    send notifyPrintResult, Pinduoduo's PrintResultNotify (ShopeX/OMS printer.js, PddPrinter)."""

    def __init__(self, printers=("ZD888-菜鸟", "Deli-DL888"), default: str = "Deli-DL888",
                 result_cmd: str = "notifyPrintResult"):  # fmt: skip
        self.printers, self.default, self.result_cmd = list(printers), default, result_cmd
        self.received: list[dict] = []
        self.failures: list[str] = []
        self._server = None

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    @property
    def tasks(self) -> list[dict]:
        return [m["task"] for m in self.received if m.get("cmd") == "print"]

    def fail_next(self, msg: str) -> None:
        self.failures.append(msg)

    def _answer(self, message: dict) -> list[dict]:
        cmd, rid = message.get("cmd"), message.get("requestID")
        if message.get("version") != "1.0" or not rid:
            return [{"cmd": cmd, "requestID": rid, "status": "failed", "msg": "bad request"}]
        if cmd == "getPrinters":
            printers = [{"name": n, "status": "enable"} for n in self.printers]
            return [{"cmd": "getPrinters", "requestID": rid, "status": "success", "printers": printers,
                     "defaultPrinter": self.default}]  # fmt: skip
        if cmd == "print":
            task = message.get("task") or {}
            docs = task.get("documents") or []
            accepted = {"cmd": "print", "requestID": rid, "taskID": task.get("taskID"), "status": "success"}
            problem = ""
            if task.get("printer") not in self.printers:
                problem = f"打印机 {task.get('printer')} 不存在"
            elif not docs or not all(d.get("contents") for d in docs):
                problem = "documents 缺少 contents"
            elif self.failures:
                problem = self.failures.pop(0)
            result = {
                "cmd": self.result_cmd,
                "taskID": task.get("taskID"),
                "printer": task.get("printer"),
                "taskStatus": "failed" if problem else "printed",
                "printStatus": [
                    {
                        "documentID": d.get("documentID"),
                        "status": "failed" if problem else "success",
                        "msg": problem,
                    }
                    for d in docs
                ],
            }
            return [accepted, result]
        return [{"cmd": cmd, "requestID": rid, "status": "failed", "msg": f"unknown cmd {cmd}"}]

    def _handle(self, ws) -> None:
        for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            self.received.append(message)
            for answer in self._answer(message):
                ws.send(json.dumps(answer, ensure_ascii=False))

    def __enter__(self) -> "CainiaoPrintDouble":
        self._server = serve(self._handle, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()


class JdPrintDouble(CainiaoPrintDouble):
    """JD's print component (京东打印组件, ws://127.0.0.1:9113) speaks differently (ShopeX/OMS printer.js,
    JdPrinter; app/wms/view/admin/delivery/include/template_jd.html): {orderType:"GET_Printers"} →
    {code:"6", content:"p1,p2", defaultPrinter}; {orderType:"print", key, parameters:{printName,
    tempUrl, printData:[…], customData:[…]}} → {code:"2", key, success:"true"|"false", status}."""

    def _answer(self, message: dict) -> list[dict]:
        kind = message.get("orderType")
        if kind == "GET_Printers":
            return [{"code": "6", "content": ",".join(self.printers), "defaultPrinter": self.default}]
        if kind == "print":
            params = message.get("parameters") or {}
            problem = ""
            if params.get("printName") not in self.printers:
                problem = f"打印机 {params.get('printName')} 不存在"
            elif not params.get("printData"):
                problem = "printData 为空"
            elif self.failures:
                problem = self.failures.pop(0)
            return [{"code": "2", "key": message.get("key"), "success": "false" if problem else "true",
                     "status": problem or "打印成功"}]  # fmt: skip
        return [{"code": "0", "status": f"unknown orderType {kind}"}]

    @property
    def tasks(self) -> list[dict]:
        return [m for m in self.received if m.get("orderType") == "print"]
