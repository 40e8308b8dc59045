/* filesrc_net.c: file source for the boot server, over the firmware's PXE
 * Base Code TFTP client (UEFI 2.10 sec 24.3 EFI_PXE_BASE_CODE_PROTOCOL). */
#include <string.h>

#include "boot.h"
#include "filesize.h"

/* Fetch attempts per file and the pause before each retry (back-off). */
#define NET_TRIES        4
#define NET_FIRST_WAIT_US (1000 * 1000)     /* then 2 s, 4 s */
/* TFTP blksize option (RFC 2348): fits a 1500-byte Ethernet frame. A server
 * that ignores the option makes the firmware fall back to 512. */
#define NET_BLKSIZE      1468
/* RFC 1350 error code 1. */
#define TFTP_ERR_NOT_FOUND 1
#define NET_PATH_MAX     128

struct net_src {
	EFI_PXE_BASE_CODE *pxe;
	EFI_IP_ADDRESS server;
};

struct net_file {
	UINT8 *data;
	UINT64 size;
	UINT64 pos;
	char name[NET_PATH_MAX];
};

/* The FDT refers to this string after the source is released. */
static char net_server_str[16];
static struct net_src net_state;

static void ip_to_str(const UINT8 ip[4], char out[16])
{
	char *p = out;

	for (int i = 0; i < 4; i++) {
		UINT8 v = ip[i];

		if (i)
			*p++ = '.';
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
	}
	*p = '\0';
}

/* "\\unicycle\\app.elf" -> "unicycle/app.elf": TFTP paths are relative to
 * the server's root, with '/' separators. */
static EFI_STATUS tftp_name(const CHAR16 *path, char *out, UINTN cap)
{
	UINTN n = 0;

	while (*path == L'\\' || *path == L'/')
		path++;
	for (; *path; path++) {
		if (*path > 0x7e || *path < 0x20 || n + 1 >= cap)
			return EFI_INVALID_PARAMETER;
		out[n++] = *path == L'\\' ? '/' : (char)*path;
	}
	out[n] = '\0';
	return EFI_SUCCESS;
}

/* The server to fetch from: the PXE boot server's reply, else the proxy
 * DHCP offer, else the DHCP ack (sec 24.3.1 EFI_PXE_BASE_CODE_MODE);
 * BOOTP siaddr (RFC 951 "server IP address") in each. */
static BOOLEAN pick_server(EFI_PXE_BASE_CODE_MODE *mode, EFI_IP_ADDRESS *ip)
{
	const EFI_PXE_BASE_CODE_PACKET *cands[3];
	int n = 0;

	if (mode->PxeReplyReceived)
		cands[n++] = &mode->PxeReply;
	if (mode->ProxyOfferReceived)
		cands[n++] = &mode->ProxyOffer;
	if (mode->DhcpAckReceived)
		cands[n++] = &mode->DhcpAck;
	for (int i = 0; i < n; i++) {
		const UINT8 *si = cands[i]->Dhcpv4.BootpSiAddr;

		if (si[0] | si[1] | si[2] | si[3]) {
			SetMem(ip, sizeof(*ip), 0);
			CopyMem(ip->v4.Addr, (void *)si, 4);
			return TRUE;
		}
	}
	return FALSE;
}

static EFI_STATUS tftp_error(struct net_src *ns, EFI_STATUS status)
{
	EFI_PXE_BASE_CODE_MODE *mode = ns->pxe->Mode;

	if (status != EFI_TFTP_ERROR || !mode->TftpErrorReceived)
		return status;
	/* RFC 1350 error 1 is "File not found"; QEMU's user-net TFTP (slirp)
	 * sends error 0 ("not defined, see message") with that message. */
	if (mode->TftpError.ErrorCode == TFTP_ERR_NOT_FOUND ||
	    (mode->TftpError.ErrorCode == 0 &&
	     strcmp((const char *)mode->TftpError.ErrorString, "File not found") == 0))
		return EFI_NOT_FOUND;
	return status;
}

/* One GET_FILE_SIZE + READ_FILE (sec 24.3.9 Mtftp). The size (the
 * server's tsize, RFC 2349) is checked against max before anything is
 * allocated or fetched. */
static EFI_STATUS fetch_once(struct net_src *ns, struct net_file *nf, UINT64 max)
{
	EFI_PXE_BASE_CODE *pxe = ns->pxe;
	UINTN blk = NET_BLKSIZE;
	UINT64 size = 0, alloc, got;
	EFI_STATUS status;

	status = pxe->Mtftp(pxe, EFI_PXE_BASE_CODE_TFTP_GET_FILE_SIZE, NULL,
	                    FALSE, &size, &blk, &ns->server, (UINT8 *)nf->name,
	                    NULL, FALSE);
	if (EFI_ERROR(status))
		return tftp_error(ns, status);
	if (!filesize_fits(size, max, &alloc)) {
		boot_log(L"tftp %a: %a is %ld bytes, more than the %ld allowed: "
		         L"not fetching it", net_server_str, nf->name, size, max);
		return EFI_BAD_BUFFER_SIZE;
	}
	boot_log(L"tftp %a: %a, %ld bytes", net_server_str, nf->name, size);
	status = BS->AllocatePool(EfiLoaderData, alloc, (void **)&nf->data);
	if (EFI_ERROR(status)) {
		nf->data = NULL;
		return status;
	}
	got = size;
	blk = NET_BLKSIZE;
	status = pxe->Mtftp(pxe, EFI_PXE_BASE_CODE_TFTP_READ_FILE, nf->data,
	                    FALSE, &got, &blk, &ns->server, (UINT8 *)nf->name,
	                    NULL, FALSE);
	if (!EFI_ERROR(status) && got != size)
		status = EFI_END_OF_FILE;     /* the file changed in between */
	if (EFI_ERROR(status)) {
		BS->FreePool(nf->data);
		nf->data = NULL;
		return tftp_error(ns, status);
	}
	nf->size = size;
	boot_log(L"tftp %a: %a, %ld of %ld bytes received", net_server_str,
	         nf->name, got, size);
	return EFI_SUCCESS;
}

static EFI_STATUS net_open(struct filesrc *src, const CHAR16 *path, UINT64 max,
                           struct filesrc_file *file)
{
	struct net_src *ns = src->priv;
	struct net_file *nf = NULL;
	UINTN wait = NET_FIRST_WAIT_US;
	EFI_STATUS status;

	status = BS->AllocatePool(EfiLoaderData, sizeof(*nf), (void **)&nf);
	if (EFI_ERROR(status))
		return status;
	SetMem(nf, sizeof(*nf), 0);
	status = tftp_name(path, nf->name, sizeof(nf->name));
	if (EFI_ERROR(status))
		goto fail;
	for (int attempt = 1; ; attempt++) {
		status = fetch_once(ns, nf, max);
		/* A missing or too large file stays so: no retry. */
		if (!EFI_ERROR(status) || status == EFI_NOT_FOUND ||
		    status == EFI_BAD_BUFFER_SIZE)
			break;
		if (status == EFI_UNSUPPORTED) {
			/* iPXE's PXE Base Code, for one, has no TFTP client. */
			boot_log(L"tftp: this firmware's PXE Base Code cannot "
			         L"fetch files (Mtftp unsupported); boot through "
			         L"the firmware's own UEFI PXE driver");
			break;
		}
		boot_log(L"tftp %a: %a: attempt %d of %d failed: %r", net_server_str,
		         nf->name, attempt, NET_TRIES, status);
		if (attempt == NET_TRIES)
			break;
		BS->Stall(wait);
		wait *= 2;
	}
	if (EFI_ERROR(status))
		goto fail;
	file->src = src;
	file->priv = nf;
	return EFI_SUCCESS;
fail:
	BS->FreePool(nf);
	return status;
}

static EFI_STATUS net_size(struct filesrc_file *file, UINT64 *size)
{
	struct net_file *nf = file->priv;

	*size = nf->size;
	return EFI_SUCCESS;
}

static EFI_STATUS net_read(struct filesrc_file *file, void *buf, UINTN *len)
{
	struct net_file *nf = file->priv;
	UINT64 left = nf->size - nf->pos;

	if (*len > left)
		*len = left;
	CopyMem(buf, nf->data + nf->pos, *len);
	nf->pos += *len;
	return EFI_SUCCESS;
}

static void net_close(struct filesrc_file *file)
{
	struct net_file *nf = file->priv;

	if (nf) {
		if (nf->data)
			BS->FreePool(nf->data);
		BS->FreePool(nf);
	}
	file->priv = NULL;
}

static void net_release(struct filesrc *src)
{
	/* The PXE Base Code stays started: the firmware owns it. */
	src->priv = NULL;
}

static const struct filesrc_ops net_ops = {
	.open = net_open,
	.size = net_size,
	.read = net_read,
	.close = net_close,
	.release = net_release,
};

/* PXE Base Code on handle h, or NULL. */
static EFI_PXE_BASE_CODE *pxe_on(EFI_HANDLE h)
{
	EFI_PXE_BASE_CODE *pxe = NULL;

	if (EFI_ERROR(BS->HandleProtocol(h, &PxeBaseCodeProtocol, (void **)&pxe)))
		return NULL;
	return pxe;
}

BOOLEAN filesrc_net_booted(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *loaded = NULL;

	/* sec 9.1: DeviceHandle is the NIC when the firmware loaded us over
	 * PXE; it carries the PXE Base Code that fetched us. */
	if (EFI_ERROR(BS->HandleProtocol(image, &LoadedImageProtocol,
	                                 (void **)&loaded)) || !loaded->DeviceHandle)
		return FALSE;
	return pxe_on(loaded->DeviceHandle) != NULL;
}

/* No PXE Base Code on our own device (we came from disk, boot.cfg says
 * source = net): the first NIC that has one, started and configured by
 * DHCP (sec 24.3.2 Start, 24.3.4 Dhcp). */
static EFI_PXE_BASE_CODE *pxe_any(void)
{
	EFI_HANDLE *handles = NULL;
	EFI_PXE_BASE_CODE *pxe = NULL;
	UINTN count = 0;
	EFI_STATUS status;

	status = BS->LocateHandleBuffer(ByProtocol, &PxeBaseCodeProtocol, NULL,
	                                &count, &handles);
	if (EFI_ERROR(status) || count == 0) {
		boot_log(L"no network interface with PXE support: %r", status);
		return NULL;
	}
	pxe = pxe_on(handles[0]);
	BS->FreePool(handles);
	if (!pxe)
		return NULL;
	if (!pxe->Mode->Started) {
		status = pxe->Start(pxe, FALSE);
		if (EFI_ERROR(status) && status != EFI_ALREADY_STARTED) {
			boot_log(L"PXE start failed: %r", status);
			return NULL;
		}
	}
	if (!pxe->Mode->DhcpAckReceived) {
		boot_log(L"network: DHCP...");
		status = pxe->Dhcp(pxe, TRUE);
		if (EFI_ERROR(status)) {
			boot_log(L"network: DHCP failed: %r", status);
			return NULL;
		}
	}
	return pxe;
}

EFI_STATUS filesrc_net_init(EFI_HANDLE image, struct filesrc *src)
{
	EFI_LOADED_IMAGE *loaded = NULL;
	struct net_src *ns = &net_state;
	char station[16];

	SetMem(ns, sizeof(*ns), 0);
	if (!EFI_ERROR(BS->HandleProtocol(image, &LoadedImageProtocol,
	                                  (void **)&loaded)) && loaded->DeviceHandle)
		ns->pxe = pxe_on(loaded->DeviceHandle);
	if (!ns->pxe)
		ns->pxe = pxe_any();
	if (!ns->pxe)
		return EFI_NOT_READY;
	if (ns->pxe->Mode->UsingIpv6) {
		boot_log(L"network: booted over IPv6, only IPv4 is supported");
		return EFI_UNSUPPORTED;
	}
	if (!pick_server(ns->pxe->Mode, &ns->server)) {
		boot_log(L"network: no boot server address in the DHCP/PXE replies");
		return EFI_NOT_FOUND;
	}
	ip_to_str(ns->server.v4.Addr, net_server_str);
	ip_to_str(ns->pxe->Mode->StationIp.v4.Addr, station);
	boot_log(L"network boot: this machine %a, boot server %a", station,
	         net_server_str);
	src->ops = &net_ops;
	src->boot_source = "net";
	src->boot_server = net_server_str;
	src->priv = ns;
	return EFI_SUCCESS;
}
